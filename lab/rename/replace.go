package rename

import "strings"

// rule replaces old with new. A bounded rule matches only a whole module
// path: not inside a longer path such as github.com/x/y-client.
type rule struct {
	old, new string
	bounded  bool
}

// replacer applies its rules in one pass from left to right: at each offset
// the first rule that matches wins and the scan resumes after the text it
// matched, so replacement text is never matched again. That is what lets
// the module path (which contains the service name) be replaced before the
// bare name, and a new module path that contains the old name survive.
type replacer struct {
	rules []rule
}

func newReplacer(plan Plan) replacer {
	var r replacer
	olds := []string{TemplateModule}
	if plan.FromModule != TemplateModule {
		olds = append(olds, plan.FromModule)
	}
	for _, old := range olds {
		// Links to the repository drop a major version suffix.
		r.rules = append(r.rules,
			rule{old: "https://" + old, new: "https://" + RepoRoot(plan.Module), bounded: true},
			rule{old: old, new: plan.Module, bounded: true})
	}
	r.rules = append(r.rules,
		rule{old: TemplateName, new: plan.Name},
		rule{old: camel(TemplateName), new: camel(plan.Name)})
	return r
}

// apply returns s with the rules applied and the number of replacements
// that changed something.
func (r replacer) apply(s string) (string, int) {
	var b strings.Builder
	n, last := 0, 0
	for i := 0; i < len(s); {
		m, ok := r.match(s, i)
		if !ok {
			i++
			continue
		}
		if m.old != m.new {
			b.WriteString(s[last:i])
			b.WriteString(m.new)
			last = i + len(m.old)
			n++
		}
		i += len(m.old)
	}
	if n == 0 {
		return s, 0
	}
	b.WriteString(s[last:])
	return b.String(), n
}

func (r replacer) match(s string, i int) (rule, bool) {
	for _, ru := range r.rules {
		if !strings.HasPrefix(s[i:], ru.old) {
			continue
		}
		if ru.bounded && (i > 0 && isPathChar(s[i-1]) || !endsPath(s, i+len(ru.old))) {
			continue
		}
		return ru, true
	}
	return rule{}, false
}

// endsPath reports whether a module path can end at s[j]: at the end of the
// text or before a character that cannot continue it. A dot ends it when
// it ends a sentence ("... github.com/acme/orders.").
func endsPath(s string, j int) bool {
	if j == len(s) || !isPathChar(s[j]) {
		return true
	}
	return s[j] == '.' && (j+1 == len(s) || !isPathChar(s[j+1]))
}

func isPathChar(c byte) bool {
	return isLower(c) || isUpper(c) || isDigit(c) || strings.IndexByte("-._~", c) >= 0
}

// camel turns a DNS label into the form that starts Go identifiers and
// alert names: orders -> Orders, order-service -> OrderService.
func camel(name string) string {
	var b strings.Builder
	for part := range strings.SplitSeq(name, "-") {
		if part == "" {
			continue
		}
		b.WriteString(strings.ToUpper(part[:1]))
		b.WriteString(part[1:])
	}
	return b.String()
}
