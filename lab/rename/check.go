package rename

import (
	"errors"
	"fmt"
	"strconv"
	"strings"
)

// MaxNameLen is the longest service name accepted: the name becomes the
// Grafana dashboard's uid, which Grafana limits to 40 characters. The
// Kubernetes names built from it (NAME-dev, NAME-selftest) stay well inside
// the 63 characters of a DNS label.
const MaxNameLen = 40

// CheckName reports whether name can be the service's name. It becomes
// Kubernetes object names (a Service's must be a DNS-1035 label), label
// values, the Prometheus job and, capitalized, Go identifiers and alert
// names, so it is a DNS-1035 label: lowercase letters, digits and '-',
// starting with a letter and ending with a letter or a digit.
func CheckName(name string) error {
	if name == "" {
		return errors.New("empty")
	}
	if len(name) > MaxNameLen {
		return fmt.Errorf("%d characters, at most %d (it is the Grafana dashboard's uid)", len(name), MaxNameLen)
	}
	for i := range len(name) {
		c := name[i]
		if !isLower(c) && !isDigit(c) && c != '-' {
			return fmt.Errorf("%q is not allowed: only lowercase letters, digits and '-' (a DNS-1035 label, as it names Kubernetes objects)", c)
		}
	}
	if !isLower(name[0]) {
		return errors.New("must start with a lowercase letter (a DNS-1035 label, as it names a Kubernetes Service)")
	}
	if name[len(name)-1] == '-' {
		return errors.New("must end with a letter or a digit (a DNS-1035 label)")
	}
	return nil
}

// CheckModulePath reports whether path can be a Go module path that others
// can import: the rules of the go command for a module path, written out.
// The first element is a lowercase host name with a dot; every element is
// made of letters, digits and "-._~", does not start or end with a dot and is
// not a name Windows reserves; a final /vN is a major version of 2 or more.
func CheckModulePath(path string) error {
	if path == "" {
		return errors.New("empty")
	}
	if strings.HasPrefix(path, "gopkg.in/") {
		return errors.New("gopkg.in paths are not supported")
	}
	elems := strings.Split(path, "/")
	if err := checkHost(elems[0]); err != nil {
		return err
	}
	for _, elem := range elems[1:] {
		if err := checkElem(elem); err != nil {
			return err
		}
	}
	if len(elems) > 1 {
		if err := checkMajor(elems[len(elems)-1]); err != nil {
			return err
		}
	}
	return nil
}

func checkHost(host string) error {
	if err := checkElem(host); err != nil {
		return err
	}
	if !strings.Contains(host, ".") {
		return fmt.Errorf("the first element %q is not a host name: it has no dot", host)
	}
	if host[0] == '-' {
		return fmt.Errorf("the first element %q starts with '-'", host)
	}
	for i := range len(host) {
		if c := host[i]; !isLower(c) && !isDigit(c) && c != '.' && c != '-' {
			return fmt.Errorf("the first element %q may hold only lowercase letters, digits, '.' and '-'", host)
		}
	}
	return nil
}

func checkElem(elem string) error {
	switch {
	case elem == "":
		return errors.New("empty path element (a leading, trailing or double '/')")
	case elem == "." || elem == "..":
		return fmt.Errorf("path element %q", elem)
	case elem[0] == '.' || elem[len(elem)-1] == '.':
		return fmt.Errorf("path element %q starts or ends with a dot", elem)
	}
	for i := range len(elem) {
		if c := elem[i]; !isPathChar(c) {
			return fmt.Errorf("path element %q holds %q: only letters, digits and \"-._~\" are allowed", elem, c)
		}
	}
	short, _, _ := strings.Cut(elem, ".")
	if isWindowsReserved(short) {
		return fmt.Errorf("path element %q is a file name Windows reserves", elem)
	}
	// A short name ending in ~ and digits looks like a Windows 8.3 alias
	// (PROGRA~1), which the go command refuses.
	if i := strings.LastIndexByte(short, '~'); i >= 0 && i < len(short)-1 && allDigits(short[i+1:]) {
		return fmt.Errorf("path element %q looks like a Windows short name", elem)
	}
	return nil
}

// checkMajor checks a final element of the form vN, which the go command
// takes for a major version suffix.
func checkMajor(last string) error {
	if len(last) < 2 || last[0] != 'v' || !allDigitsOrDots(last[1:]) {
		return nil
	}
	n := last[1:]
	if strings.Contains(n, ".") || n[0] == '0' || n == "1" {
		return fmt.Errorf("the final element %q is not a valid major version suffix (/v2, /v3, ...)", last)
	}
	return nil
}

// MajorVersion returns the N of a module path ending in /vN (N >= 2), or 0.
func MajorVersion(path string) int {
	i := strings.LastIndexByte(path, '/')
	if i < 0 {
		return 0
	}
	digits, ok := strings.CutPrefix(path[i+1:], "v")
	if !ok || !allDigits(digits) || checkMajor(path[i+1:]) != nil {
		return 0
	}
	n, err := strconv.Atoi(digits)
	if err != nil {
		return 0 // more digits than an int holds
	}
	return n
}

// RepoRoot returns the module path without its major version suffix: the
// repository that https URLs in the docs and the alert rules point at.
func RepoRoot(path string) string {
	if MajorVersion(path) == 0 {
		return path
	}
	return path[:strings.LastIndexByte(path, '/')]
}

func isWindowsReserved(short string) bool {
	u := strings.ToUpper(short)
	switch u {
	case "CON", "PRN", "AUX", "NUL":
		return true
	}
	return len(u) == 4 && (strings.HasPrefix(u, "COM") || strings.HasPrefix(u, "LPT")) && u[3] >= '1' && u[3] <= '9'
}

func isLower(c byte) bool { return 'a' <= c && c <= 'z' }
func isUpper(c byte) bool { return 'A' <= c && c <= 'Z' }
func isDigit(c byte) bool { return '0' <= c && c <= '9' }

func allDigits(s string) bool {
	for i := range len(s) {
		if !isDigit(s[i]) {
			return false
		}
	}
	return s != ""
}

func allDigitsOrDots(s string) bool {
	for i := range len(s) {
		if !isDigit(s[i]) && s[i] != '.' {
			return false
		}
	}
	return s != ""
}
