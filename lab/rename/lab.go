package rename

import (
	"fmt"
	"strings"
)

// labDir holds the template's lab: the studies and tools that prove the
// template's own claims, and this rename tool. A rename removes it unless
// Options.KeepLab is set.
const labDir = "lab/"

// The markers of a region of a file outside labDir that only the lab needs
// (make targets, the CI lane, README lines): a rename that removes the lab
// removes each such region, from the line that holds labBegin to the line
// that holds labEnd, both included.
const (
	labBegin = "template-lab:begin"
	labEnd   = "template-lab:end"
)

// stripLab returns s without its lab regions, and how many it removed. A
// region left open, or an end without a beginning, is an error: removing
// to the end of the file would lose what follows.
func stripLab(rel, s string) (string, int, error) {
	if !strings.Contains(s, labBegin) && !strings.Contains(s, labEnd) {
		return s, 0, nil
	}
	var b strings.Builder
	regions, open, lineNo := 0, 0, 0
	for line := range strings.Lines(s) {
		lineNo++
		switch {
		case strings.Contains(line, labBegin):
			if open != 0 {
				return "", 0, fmt.Errorf("%s:%d: %s inside the region opened on line %d", rel, lineNo, labBegin, open)
			}
			open = lineNo
		case strings.Contains(line, labEnd):
			if open == 0 {
				return "", 0, fmt.Errorf("%s:%d: %s without a %s before it", rel, lineNo, labEnd, labBegin)
			}
			open = 0
			regions++
		case open == 0:
			b.WriteString(line)
		}
	}
	if open != 0 {
		return "", 0, fmt.Errorf("%s:%d: %s is never closed by a %s", rel, open, labBegin, labEnd)
	}
	return b.String(), regions, nil
}
