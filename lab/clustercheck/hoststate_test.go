package clustercheck

import (
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"syscall"
	"testing"
)

// The cluster test's "nothing left behind" is ReadHostState before and after
// compared with Diff. This proves that comparison fails when something is
// left: a link, a mount, an nftables table, a changed sysctl; and that it is
// empty again once they are gone.
func TestHostStateDiffFindsWhatIsLeftBehind(t *testing.T) {
	needRoot(t)
	for _, cmd := range []string{"ip", "nft", "iptables-save", "ip6tables-save"} {
		if _, err := exec.LookPath(cmd); err != nil {
			t.Skipf("%s is not installed, so the host state cannot be read (Debian: iproute2, nftables, iptables; CI installs them)", cmd)
		}
	}
	base, err := ReadHostState()
	if err != nil {
		t.Fatal(err)
	}
	const link, table = "gsdiffctl0", "ginstarter_diff_control"
	mnt := filepath.Join(t.TempDir(), "mnt")
	if err := os.Mkdir(mnt, 0o755); err != nil {
		t.Fatal(err)
	}
	cleanup := func() {
		_ = syscall.Unmount(mnt, syscall.MNT_DETACH)
		_, _ = run("ip", "link", "delete", link)
		_, _ = run("nft", "delete", "table", "inet", table)
	}
	t.Cleanup(cleanup)
	if _, err := run("ip", "link", "add", link, "type", "bridge"); err != nil {
		t.Fatal(err)
	}
	if err := syscall.Mount("tmpfs", mnt, "tmpfs", 0, "size=1m"); err != nil {
		t.Fatal(err)
	}
	if _, err := run("nft", "add", "table", "inet", table); err != nil {
		t.Fatal(err)
	}
	mid, err := ReadHostState()
	if err != nil {
		t.Fatal(err)
	}
	sysctl := "/proc/sys/net/ipv4/conf/" + link + "/accept_local"
	if err := os.WriteFile(sysctl, []byte("1"), 0o644); err != nil {
		t.Fatal(err)
	}
	after, err := ReadHostState()
	if err != nil {
		t.Fatal(err)
	}

	got := base.Diff(after)
	for _, want := range []string{"+ link " + link, "+ mount " + mnt, "+ nft table inet " + table} {
		if !slices.Contains(got, want) {
			t.Errorf("Diff missed %q; it found:\n%s", want, strings.Join(got, "\n"))
		}
	}
	changed := mid.Diff(after)
	wantSysctl := `~ sysctl net.ipv4.conf.` + link + `.accept_local: "0" -> "1"`
	if !slices.Contains(changed, wantSysctl) {
		t.Errorf("Diff missed the sysctl change %q; it found:\n%s", wantSysctl, strings.Join(changed, "\n"))
	}
	if restore := mid.ChangedSysctls(after); restore["net.ipv4.conf."+link+".accept_local"] != "0" {
		t.Errorf("ChangedSysctls = %v, want the old value 0 of accept_local", restore)
	}

	cleanup()
	final, err := ReadHostState()
	if err != nil {
		t.Fatal(err)
	}
	if d := base.Diff(final); len(d) > 0 {
		t.Errorf("after the cleanup the host still differs:\n%s", strings.Join(d, "\n"))
	}
}

func needRoot(t *testing.T) {
	t.Helper()
	if os.Geteuid() != 0 {
		t.Skip("needs root (network links, mounts, nftables); CI runs as root")
	}
}
