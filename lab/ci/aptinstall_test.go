package ci

import (
	"errors"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
)

// libFile is the path from this directory to the CI scripts' shell helpers.
const libFile = "../../.ci/lib.sh"

// Stand-ins for dpkg-query, dpkg, apt-get and sleep, put first on PATH so that
// apt_install runs against a package database the test controls. They keep
// their state in $STUB: state/<package> holds a package's dpkg status (no file:
// unknown to dpkg), audit what `dpkg --audit` prints, fail-installs how many
// installs fail before one succeeds, and log every call. As the real apt does,
// apt-get refuses to install while dpkg's journal ($DPKG_ADMINDIR/updates)
// holds entries.
var stubs = map[string]string{
	"dpkg-query": `#!/bin/sh
pkg=$(eval echo \${$#})
[ -f "$STUB/state/$pkg" ] || { echo "dpkg-query: no packages found matching $pkg" >&2; exit 1; }
cat "$STUB/state/$pkg"
`,
	"dpkg": `#!/bin/sh
echo "dpkg $*" >>"$STUB/log"
case "$*" in
*--audit*) [ ! -f "$STUB/audit" ] || cat "$STUB/audit" ;;
*"--configure -a"*) rm -f "$DPKG_ADMINDIR"/updates/* "$STUB/audit" ;;
esac
`,
	"apt-get": `#!/bin/sh
echo "apt-get $*" >>"$STUB/log"
[ "$1" = install ] || exit 0
if [ -n "$(ls -A "$DPKG_ADMINDIR/updates")" ]; then
	echo "E: dpkg was interrupted, you must manually run 'dpkg --configure -a' to correct the problem." >&2
	exit 100
fi
n=$(cat "$STUB/fail-installs" 2>/dev/null || echo 0)
if [ "$n" -gt 0 ]; then
	echo $((n - 1)) >"$STUB/fail-installs"
	echo "E: Failed to fetch a package" >&2
	exit 100
fi
for a in "$@"; do
	case "$a" in install | -* | DPkg::*) ;; *) echo installed >"$STUB/state/$a" ;; esac
done
`,
	"sleep": "#!/bin/sh\n",
}

// aptMachine is a package database of stand-ins, in a directory of its own.
type aptMachine struct {
	t    *testing.T
	stub string // $STUB
	dpkg string // $DPKG_ADMINDIR
}

func newAptMachine(t *testing.T, states map[string]string) *aptMachine {
	t.Helper()
	m := &aptMachine{t: t, stub: t.TempDir(), dpkg: t.TempDir()}
	for _, dir := range []string{filepath.Join(m.stub, "bin"), filepath.Join(m.stub, "state"), filepath.Join(m.dpkg, "updates")} {
		if err := os.MkdirAll(dir, 0o755); err != nil {
			t.Fatal(err)
		}
	}
	for name, text := range stubs {
		m.write(filepath.Join("bin", name), text, 0o755)
	}
	for pkg, state := range states {
		m.write(filepath.Join("state", pkg), state, 0o644)
	}
	return m
}

func (m *aptMachine) write(rel, text string, mode os.FileMode) {
	m.t.Helper()
	if err := os.WriteFile(filepath.Join(m.stub, rel), []byte(text), mode); err != nil {
		m.t.Fatal(err)
	}
}

// interrupt leaves dpkg as a machine stopped in the middle of an install
// leaves it: an entry in its journal.
func (m *aptMachine) interrupt() {
	m.t.Helper()
	if err := os.WriteFile(filepath.Join(m.dpkg, "updates", "0003"), []byte("Package: qemu-user\nStatus: install ok unpacked\n"), 0o644); err != nil {
		m.t.Fatal(err)
	}
}

// run runs script in bash after sourcing .ci/lib.sh, as the CI scripts do,
// and returns its output and whether it succeeded.
func (m *aptMachine) run(script string) (string, bool) {
	m.t.Helper()
	lib, err := filepath.Abs(libFile)
	if err != nil {
		m.t.Fatal(err)
	}
	cmd := exec.Command("bash", "-c", "set -euo pipefail; source \"$LIB\"; "+script)
	cmd.Env = append(os.Environ(),
		"LIB="+lib,
		"STUB="+m.stub,
		"DPKG_ADMINDIR="+m.dpkg,
		"PATH="+filepath.Join(m.stub, "bin")+":"+os.Getenv("PATH"),
		"CI_CACHE="+m.t.TempDir(),
	)
	out, err := cmd.CombinedOutput()
	var exit *exec.ExitError
	if err != nil && !errors.As(err, &exit) {
		m.t.Fatal(err)
	}
	return string(out), err == nil
}

// calls returns the apt-get and dpkg calls made so far, one per line,
// leaving out `dpkg --audit`, which only reads.
func (m *aptMachine) calls() []string {
	m.t.Helper()
	b, err := os.ReadFile(filepath.Join(m.stub, "log"))
	if os.IsNotExist(err) {
		return nil
	}
	if err != nil {
		m.t.Fatal(err)
	}
	var calls []string
	for line := range strings.Lines(string(b)) {
		line = strings.TrimSpace(line)
		if line != "dpkg --audit" {
			calls = append(calls, line)
		}
	}
	return calls
}

func (m *aptMachine) state(pkg string) string {
	m.t.Helper()
	b, _ := os.ReadFile(filepath.Join(m.stub, "state", pkg))
	return strings.TrimSpace(string(b))
}

const (
	update    = "apt-get update -qq"
	configure = "dpkg --force-confdef --force-confold --configure -a"
)

func install(pkgs ...string) string {
	return "apt-get install -y -qq -o DPkg::Lock::Timeout=300 " + strings.Join(pkgs, " ")
}

func wantCalls(t *testing.T, m *aptMachine, want ...string) {
	t.Helper()
	got := m.calls()
	if strings.Join(got, "\n") != strings.Join(want, "\n") {
		t.Errorf("calls:\n  %s\nwant:\n  %s", strings.Join(got, "\n  "), strings.Join(want, "\n  "))
	}
}

func TestAptInstallLeavesInstalledPackagesAlone(t *testing.T) {
	m := newAptMachine(t, map[string]string{"make": "installed", "jq": "installed"})
	out, ok := m.run("apt_install make jq")
	if !ok || out != "" {
		t.Fatalf("apt_install of installed packages: ok=%v, printed %q", ok, out)
	}
	wantCalls(t, m)
}

func TestAptInstallInstallsMissingAndRemovedPackages(t *testing.T) {
	// jq was removed with its configuration files left: `dpkg -s` still
	// succeeds for it, but it is not installed.
	m := newAptMachine(t, map[string]string{"make": "installed", "jq": "config-files"})
	out, ok := m.run("apt_install make jq curl")
	if !ok {
		t.Fatalf("apt_install failed:\n%s", out)
	}
	wantCalls(t, m, update, install("jq", "curl"))
	if m.state("jq") != "installed" || m.state("curl") != "installed" {
		t.Errorf("jq is %q, curl %q; want both installed", m.state("jq"), m.state("curl"))
	}
}

func TestAptInstallUpdatesTheListsOncePerScript(t *testing.T) {
	m := newAptMachine(t, nil)
	if out, ok := m.run("apt_install jq; apt_install curl; apt_install jq"); !ok {
		t.Fatalf("apt_install failed:\n%s", out)
	}
	wantCalls(t, m, update, install("jq"), install("curl"))
}

func TestAptInstallFinishesAnInterruptedDpkgFirst(t *testing.T) {
	m := newAptMachine(t, nil)
	m.interrupt()

	// Control: with the journal left, apt refuses to install, twice, as it
	// did on a machine stopped during an install.
	out, ok := m.run("apt-get install -y qemu-user || apt-get install -y qemu-user")
	if ok || !strings.Contains(out, "dpkg was interrupted") {
		t.Fatalf("control: apt-get installed with dpkg interrupted (ok=%v):\n%s", ok, out)
	}
	if err := os.Remove(filepath.Join(m.stub, "log")); err != nil {
		t.Fatal(err)
	}

	out, ok = m.run("apt_install qemu-user")
	if !ok {
		t.Fatalf("apt_install failed with dpkg interrupted:\n%s", out)
	}
	if !strings.Contains(out, "dpkg was interrupted on this machine") {
		t.Errorf("apt_install did not say that it finishes dpkg's run:\n%s", out)
	}
	wantCalls(t, m, update, configure, install("qemu-user"))
}

func TestAptInstallFinishesHalfConfiguredPackagesFirst(t *testing.T) {
	m := newAptMachine(t, nil)
	m.write("audit", "The following packages are only half configured:\n qemu-user\n", 0o644)
	if out, ok := m.run("apt_install qemu-user"); !ok {
		t.Fatalf("apt_install failed:\n%s", out)
	}
	wantCalls(t, m, update, configure, install("qemu-user"))
}

func TestAptInstallRetriesAFailedInstallOnce(t *testing.T) {
	m := newAptMachine(t, nil)
	m.write("fail-installs", "1", 0o644)
	out, ok := m.run("apt_install jq")
	if !ok {
		t.Fatalf("apt_install failed after one failed download:\n%s", out)
	}
	wantCalls(t, m, update, install("jq"), install("jq"))
}

func TestAptInstallFailsWhenTheRetryFails(t *testing.T) {
	m := newAptMachine(t, nil)
	m.write("fail-installs", "2", 0o644)
	out, ok := m.run("apt_install jq; echo after")
	if ok || strings.Contains(out, "after") {
		t.Fatalf("apt_install went on after two failed installs (ok=%v):\n%s", ok, out)
	}
	if !strings.Contains(out, "retrying once: apt_get_install jq") {
		t.Errorf("no retry was announced:\n%s", out)
	}
	wantCalls(t, m, update, install("jq"), install("jq"))
}
