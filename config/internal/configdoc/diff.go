package configdoc

import (
	"bytes"
	"fmt"
	"strings"
)

// diffContext is how many unchanged lines Diff shows around a change.
const diffContext = 2

// Diff returns the lines where have and want differ, "" when they are equal:
// the one changed stretch between their common first and last lines, with
// have's lines marked "-" and want's "+", and a little context. That is
// enough to see what a generated file lacks or has in excess.
func Diff(have, want []byte) string {
	if bytes.Equal(have, want) {
		return ""
	}
	h := strings.Split(string(have), "\n")
	w := strings.Split(string(want), "\n")
	start := 0
	for start < len(h) && start < len(w) && h[start] == w[start] {
		start++
	}
	hEnd, wEnd := len(h), len(w)
	for hEnd > start && wEnd > start && h[hEnd-1] == w[wEnd-1] {
		hEnd--
		wEnd--
	}
	var b strings.Builder
	fmt.Fprintf(&b, "@@ line %d @@\n", start+1)
	for _, l := range h[max(0, start-diffContext):start] {
		b.WriteString("  " + l + "\n")
	}
	for _, l := range h[start:hEnd] {
		b.WriteString("- " + l + "\n")
	}
	for _, l := range w[start:wEnd] {
		b.WriteString("+ " + l + "\n")
	}
	for _, l := range h[hEnd:min(len(h), hEnd+diffContext)] {
		b.WriteString("  " + l + "\n")
	}
	return b.String()
}
