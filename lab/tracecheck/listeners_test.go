package tracecheck

import (
	"encoding/hex"
	"errors"
	"fmt"
	"io/fs"
	"net/netip"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"testing"
)

// loopback is the only address that anything the test starts may listen on.
var loopback = netip.MustParseAddr("127.0.0.1")

// checkLoopbackOnly checks, from /proc, that every process the test started
// and that still runs (Jaeger, Prometheus, the services) listens on
// 127.0.0.1 only, and that Jaeger listens on exactly the ports that its
// configuration names.
func checkLoopbackOnly(t *testing.T, jaeger *jaegerServer) {
	t.Helper()
	if _, err := os.Stat("/proc/self/fd"); err != nil {
		t.Logf("no /proc (%v): the listeners are not checked", err)
		return
	}
	sockets, err := listeningSockets()
	if err != nil {
		t.Fatal(err)
	}
	children, err := childProcesses(os.Getpid())
	if err != nil {
		t.Fatal(err)
	}
	for _, pid := range children {
		name, addrs, err := processListeners(pid, sockets)
		if err != nil {
			t.Errorf("pid %d: %v", pid, err)
			continue
		}
		var shown []string
		for _, a := range addrs {
			shown = append(shown, a.proto+" "+a.addr.String())
			if a.addr.Addr().Unmap() != loopback {
				t.Errorf("%s (pid %d) listens on %s %s, want 127.0.0.1 only", name, pid, a.proto, a.addr)
			}
		}
		if pid == jaeger.pid {
			var ports []int
			for _, a := range addrs {
				ports = append(ports, int(a.addr.Port()))
			}
			slices.Sort(ports)
			want := slices.Sorted(slices.Values(jaeger.ports))
			if !slices.Equal(ports, want) {
				t.Errorf("jaeger listens on ports %v, want those of its configuration, %v", ports, want)
			}
		}
		t.Logf("%s (pid %d) listens on: %s", name, pid, strings.Join(shown, ", "))
	}
	if len(children) == 0 {
		t.Error("no process started by the test is running")
	}
}

// listener is a socket that listens (TCP) or is bound and not connected
// (UDP).
type listener struct {
	proto string
	addr  netip.AddrPort
}

// listeningSockets reads /proc/net/{tcp,tcp6,udp,udp6} and returns the
// listening sockets by inode.
func listeningSockets() (map[string]listener, error) {
	sockets := map[string]listener{}
	for _, f := range []struct{ file, proto, state string }{
		{"/proc/net/tcp", "tcp", "0A"}, // TCP_LISTEN
		{"/proc/net/tcp6", "tcp", "0A"},
		{"/proc/net/udp", "udp", "07"}, // TCP_CLOSE: bound, not connected
		{"/proc/net/udp6", "udp", "07"},
	} {
		data, err := os.ReadFile(f.file)
		if errors.Is(err, fs.ErrNotExist) {
			continue // no IPv6
		}
		if err != nil {
			return nil, err
		}
		lines := strings.Split(string(data), "\n")
		for _, line := range lines[1:] {
			// sl local_address rem_address st tx:rx tr:when retrnsmt uid timeout inode
			fields := strings.Fields(line)
			if len(fields) < 10 || fields[3] != f.state {
				continue
			}
			addr, err := parseProcAddr(fields[1])
			if err != nil {
				return nil, fmt.Errorf("%s: %w", f.file, err)
			}
			sockets[fields[9]] = listener{f.proto, addr}
		}
	}
	return sockets, nil
}

// parseProcAddr parses an address of /proc/net/tcp: the IP in hex, in
// 32-bit words of the host's byte order (little-endian here), then the
// port in hex.
func parseProcAddr(s string) (netip.AddrPort, error) {
	ipHex, portHex, ok := strings.Cut(s, ":")
	ip, err := hex.DecodeString(ipHex)
	if !ok || err != nil || (len(ip) != 4 && len(ip) != 16) {
		return netip.AddrPort{}, fmt.Errorf("address %q", s)
	}
	port, err := strconv.ParseUint(portHex, 16, 16)
	if err != nil {
		return netip.AddrPort{}, fmt.Errorf("address %q: %w", s, err)
	}
	for i := 0; i < len(ip); i += 4 {
		slices.Reverse(ip[i : i+4])
	}
	addr, _ := netip.AddrFromSlice(ip)
	return netip.AddrPortFrom(addr, uint16(port)), nil
}

// childProcesses returns the processes whose parent is ppid.
func childProcesses(ppid int) ([]int, error) {
	stats, err := filepath.Glob("/proc/[0-9]*/stat")
	if err != nil {
		return nil, err
	}
	var pids []int
	for _, stat := range stats {
		data, err := os.ReadFile(stat)
		if err != nil {
			continue // it has exited
		}
		// pid (comm) state ppid ...: comm may hold spaces and parentheses.
		i := strings.LastIndexByte(string(data), ')')
		fields := strings.Fields(string(data[i+1:]))
		if len(fields) < 2 || fields[1] != strconv.Itoa(ppid) {
			continue
		}
		pid, err := strconv.Atoi(filepath.Base(filepath.Dir(stat)))
		if err != nil {
			return nil, err
		}
		pids = append(pids, pid)
	}
	slices.Sort(pids)
	return pids, nil
}

// processListeners returns the name of process pid and the sockets among
// sockets that it holds open.
func processListeners(pid int, sockets map[string]listener) (string, []listener, error) {
	comm, err := os.ReadFile(fmt.Sprintf("/proc/%d/comm", pid))
	if err != nil {
		return "", nil, err
	}
	dir := fmt.Sprintf("/proc/%d/fd", pid)
	fds, err := os.ReadDir(dir)
	if err != nil {
		return "", nil, err
	}
	var found []listener
	for _, fd := range fds {
		link, err := os.Readlink(filepath.Join(dir, fd.Name()))
		if err != nil {
			continue // closed meanwhile
		}
		inode, ok := strings.CutPrefix(link, "socket:[")
		if !ok {
			continue
		}
		if l, ok := sockets[strings.TrimSuffix(inode, "]")]; ok {
			found = append(found, l)
		}
	}
	slices.SortFunc(found, func(a, b listener) int { return a.addr.Compare(b.addr) })
	return strings.TrimSpace(string(comm)), found, nil
}
