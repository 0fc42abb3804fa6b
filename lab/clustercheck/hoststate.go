// Package clustercheck starts a single-node Kubernetes cluster on this
// machine (etcd, the control plane, containerd, the kubelet and kube-proxy),
// runs deploy/ in it and takes it all down again, leaving the host as it
// found it. The tests in this directory are the checks; README.md says what
// they show and how to run them.
package clustercheck

import (
	"bufio"
	"bytes"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"sort"
	"strings"
)

// HostState is what the cluster may change on the host, read before it
// starts and after it is gone; the two must be equal.
type HostState struct {
	Mounts   []string          // mount points (/proc/self/mountinfo)
	Netns    []string          // named network namespaces (/run/netns)
	Links    []string          // network interfaces
	Routes   []string          // IPv4 routes of the main table
	NFTables []string          // nftables tables ("ip kube-proxy")
	Chains   []string          // iptables and ip6tables chains ("ip filter KUBE-FIREWALL")
	Sysctls  map[string]string // every sysctl but the counters that move on their own
	Paths    []string          // which of WatchedPaths exist
	Cgroups  []string          // cgroup v1 directories two levels deep under /sys/fs/cgroup
}

// WatchedPaths are places the node components write outside the cluster's
// own directory: the kubelet's device plugin socket directory and log
// directories, containerd's fixed state directory, the network namespaces of
// pods and CNI's defaults.
var WatchedPaths = []string{
	"/var/lib/kubelet", "/var/lib/kubelet/device-plugins",
	"/var/log/containers", "/var/log/pods",
	"/run/containerd", "/var/run/netns", "/run/netns",
	"/var/lib/cni", "/etc/cni/net.d", "/opt/cni", "/etc/kubernetes",
}

// volatileSysctls change on their own while the machine runs.
var volatileSysctls = []string{
	"fs.dentry-state", "fs.file-nr", "fs.inode-nr", "fs.inode-state", "fs.quota.",
	"kernel.ns_last_pid", "kernel.random.", "kernel.pty.nr", "kernel.tainted",
	"net.netfilter.nf_conntrack_count", "fs.aio-nr", "net.ipv4.tcp_fastopen_key",
	"kernel.sched_domain.", "net.core.netdev_rss_key", "fs.binfmt_misc.",
}

// ReadHostState reads the host's state. It runs ip, nft, iptables-save and
// ip6tables-save.
func ReadHostState() (HostState, error) {
	var s HostState
	var err error
	if s.Mounts, err = mountPoints(); err != nil {
		return s, err
	}
	entries, _ := os.ReadDir("/run/netns")
	for _, e := range entries {
		s.Netns = append(s.Netns, e.Name())
	}
	out, err := run("ip", "-o", "link", "show")
	if err != nil {
		return s, err
	}
	for line := range strings.SplitSeq(out, "\n") {
		if f := strings.Fields(line); len(f) > 1 {
			name, _, _ := strings.Cut(strings.TrimSuffix(f[1], ":"), "@")
			s.Links = append(s.Links, name)
		}
	}
	if out, err = run("ip", "-4", "route", "show", "table", "main"); err != nil {
		return s, err
	}
	s.Routes = lines(out)
	if out, err = run("nft", "list", "tables"); err != nil {
		return s, err
	}
	for _, l := range lines(out) {
		s.NFTables = append(s.NFTables, strings.TrimPrefix(l, "table "))
	}
	for _, save := range []string{"iptables-save", "ip6tables-save"} {
		out, err := run(save)
		if err != nil {
			return s, err
		}
		table := ""
		for _, l := range lines(out) {
			switch {
			case strings.HasPrefix(l, "*"):
				table = l[1:]
			case strings.HasPrefix(l, ":"):
				s.Chains = append(s.Chains, fmt.Sprintf("%s %s %s", save[:len(save)-len("-save")], table, strings.Fields(l[1:])[0]))
			}
		}
	}
	if s.Sysctls, err = sysctls(); err != nil {
		return s, err
	}
	for _, p := range WatchedPaths {
		if _, err := os.Lstat(p); err == nil {
			s.Paths = append(s.Paths, p)
		}
	}
	controllers, _ := os.ReadDir("/sys/fs/cgroup")
	for _, c := range controllers {
		dirs, _ := os.ReadDir(filepath.Join("/sys/fs/cgroup", c.Name()))
		for _, d := range dirs {
			if d.IsDir() {
				s.Cgroups = append(s.Cgroups, filepath.Join(c.Name(), d.Name()))
			}
		}
	}
	for _, l := range [][]string{s.Mounts, s.Netns, s.Links, s.Routes, s.NFTables, s.Chains, s.Paths, s.Cgroups} {
		sort.Strings(l)
	}
	return s, nil
}

// Diff lists what differs between before (s) and after, one line each:
// "+ link gsk8s0" is new, "- ..." is gone, "~ sysctl k: a -> b" changed.
func (s HostState) Diff(after HostState) []string {
	var d []string
	list := func(kind string, a, b []string) {
		for _, x := range b {
			if !slices.Contains(a, x) {
				d = append(d, fmt.Sprintf("+ %s %s", kind, x))
			}
		}
		for _, x := range a {
			if !slices.Contains(b, x) {
				d = append(d, fmt.Sprintf("- %s %s", kind, x))
			}
		}
	}
	list("mount", s.Mounts, after.Mounts)
	list("netns", s.Netns, after.Netns)
	list("link", s.Links, after.Links)
	list("route", s.Routes, after.Routes)
	list("nft table", s.NFTables, after.NFTables)
	list("chain", s.Chains, after.Chains)
	list("path", s.Paths, after.Paths)
	list("cgroup", s.Cgroups, after.Cgroups)
	keys := make([]string, 0, len(after.Sysctls))
	for k := range after.Sysctls {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	for _, k := range keys {
		if v, ok := s.Sysctls[k]; ok && v != after.Sysctls[k] {
			d = append(d, fmt.Sprintf("~ sysctl %s: %q -> %q", k, v, after.Sysctls[k]))
		}
	}
	return d
}

// ChangedSysctls returns the sysctls whose value differs in now, with their
// value in s, for RestoreSysctls.
func (s HostState) ChangedSysctls(now HostState) map[string]string {
	changed := map[string]string{}
	for k, v := range s.Sysctls {
		if nv, ok := now.Sysctls[k]; ok && nv != v {
			changed[k] = v
		}
	}
	return changed
}

// RestoreSysctls writes each value back.
func RestoreSysctls(values map[string]string) error {
	var errs []string
	for k, v := range values {
		p := filepath.Join("/proc/sys", strings.ReplaceAll(k, ".", "/"))
		if err := os.WriteFile(p, []byte(v), 0o600); err != nil {
			errs = append(errs, fmt.Sprintf("%s=%s: %v", k, v, err))
		}
	}
	if len(errs) > 0 {
		return fmt.Errorf("restoring sysctls: %s", strings.Join(errs, "; "))
	}
	return nil
}

func mountPoints() ([]string, error) {
	f, err := os.Open("/proc/self/mountinfo")
	if err != nil {
		return nil, err
	}
	defer func() { _ = f.Close() }() // read only: nothing to flush
	var m []string
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		if f := strings.Fields(sc.Text()); len(f) > 4 {
			m = append(m, f[4])
		}
	}
	return m, sc.Err()
}

// sysctls reads /proc/sys, as `sysctl -a` does, without the volatile keys.
func sysctls() (map[string]string, error) {
	m := map[string]string{}
	err := filepath.WalkDir("/proc/sys", func(path string, d os.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return nil // unreadable directories are not ours to check
		}
		key := strings.ReplaceAll(strings.TrimPrefix(path, "/proc/sys/"), "/", ".")
		for _, v := range volatileSysctls {
			if strings.HasPrefix(key, v) {
				return nil
			}
		}
		b, err := os.ReadFile(path) //nolint:gosec // G304: a file of /proc/sys that the walk found
		if err != nil {
			return nil // write-only or refused
		}
		m[key] = strings.TrimSpace(string(b))
		return nil
	})
	return m, err
}

func run(name string, args ...string) (string, error) {
	var stdout, stderr bytes.Buffer
	// No context: most callers have none, among them Stop, which must finish.
	//nolint:gosec,noctx // G204: ip, nft and iptables, with arguments of this package
	cmd := exec.Command(name, args...)
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	if err := cmd.Run(); err != nil {
		return "", fmt.Errorf("%s %s: %w: %s", name, strings.Join(args, " "), err, strings.TrimSpace(stderr.String()))
	}
	return stdout.String(), nil
}

func lines(s string) []string {
	var l []string
	for x := range strings.SplitSeq(s, "\n") {
		if x = strings.TrimSpace(x); x != "" && !strings.HasPrefix(x, "#") {
			l = append(l, x)
		}
	}
	return l
}
