package clustercheck

import (
	"context"
	"fmt"
	"net"
	"os/exec"
	"slices"
	"strconv"
	"strings"
	"time"
)

// Guard is an nftables table that counts and drops every packet of the
// cluster's address ranges that would leave through the machine's real
// interface, and everything forwarded to that interface. It is installed
// before anything of the cluster starts and deleted last.
type Guard struct {
	Table  string   // nftables table, family inet
	Uplink string   // the real interface: the one the default route uses
	Ranges []string // pod and Service ranges
	Bridge string   // the pods' bridge
}

// guardCounters are the table's named counters, one per hook.
var guardCounters = []string{"forward_drops", "postrouting_drops"}

// UplinkInterface returns the interface of the IPv4 default route.
func UplinkInterface() (string, error) {
	out, err := run("ip", "-4", "route", "show", "default")
	if err != nil {
		return "", err
	}
	f := strings.Fields(out)
	for i := 0; i+1 < len(f); i++ {
		if f[i] == "dev" {
			return f[i+1], nil
		}
	}
	return "", fmt.Errorf("no IPv4 default route, so no real interface to guard: %q", out)
}

// Install creates the table. The postrouting chain runs after source NAT
// (priority 300), and matches conntrack's original addresses too, so that a
// masqueraded packet of the cluster is counted as well.
func (g Guard) Install() error {
	ranges := strings.Join(g.Ranges, ", ")
	rules := fmt.Sprintf(`table inet %[1]s {
	counter forward_drops {}
	counter postrouting_drops {}
	set cluster {
		type ipv4_addr
		flags interval
		elements = { %[2]s }
	}
	chain forward {
		type filter hook forward priority -300; policy accept;
		oifname %[3]q iifname %[4]q counter name "forward_drops" drop
		oifname %[3]q ip saddr @cluster counter name "forward_drops" drop
		oifname %[3]q ip daddr @cluster counter name "forward_drops" drop
		oifname %[3]q ct original ip saddr @cluster counter name "forward_drops" drop
	}
	chain postrouting {
		type filter hook postrouting priority 300; policy accept;
		oifname %[3]q ip saddr @cluster counter name "postrouting_drops" drop
		oifname %[3]q ip daddr @cluster counter name "postrouting_drops" drop
		oifname %[3]q ct original ip saddr @cluster counter name "postrouting_drops" drop
		oifname %[3]q ct original ip daddr @cluster counter name "postrouting_drops" drop
	}
}
`, g.Table, ranges, g.Uplink, g.Bridge)
	cmd := exec.CommandContext(context.Background(), "nft", "-f", "-")
	cmd.Stdin = strings.NewReader(rules)
	if out, err := cmd.CombinedOutput(); err != nil {
		return fmt.Errorf("nft -f (guard table %s): %w: %s", g.Table, err, out)
	}
	return nil
}

// Drops returns each counter's packet count.
func (g Guard) Drops() (map[string]int, error) {
	m := map[string]int{}
	for _, c := range guardCounters {
		out, err := run("nft", "list", "counter", "inet", g.Table, c)
		if err != nil {
			return nil, err
		}
		f := strings.Fields(out)
		for i := 0; i+1 < len(f); i++ {
			if f[i] == "packets" {
				n, err := strconv.Atoi(f[i+1])
				if err != nil {
					return nil, fmt.Errorf("counter %s: %q", c, out)
				}
				m[c] = n
			}
		}
		if _, ok := m[c]; !ok {
			return nil, fmt.Errorf("counter %s: no packets in %q", c, out)
		}
	}
	return m, nil
}

// Reset zeroes the counters.
func (g Guard) Reset() error {
	for _, c := range guardCounters {
		if _, err := run("nft", "reset", "counter", "inet", g.Table, c); err != nil {
			return err
		}
	}
	return nil
}

// Remove deletes the table.
func (g Guard) Remove() error {
	_, err := run("nft", "delete", "table", "inet", g.Table)
	return err
}

// Probe sends one UDP datagram from src (an address of the cluster's
// bridge) to dst, an address reached through the real interface: the guard
// must drop it and count it. dst should be a documentation address
// (198.51.100.0/24) that nothing answers.
func (g Guard) Probe(src, dst string) error {
	conn, err := net.DialUDP("udp4", &net.UDPAddr{IP: net.ParseIP(src)}, &net.UDPAddr{IP: net.ParseIP(dst), Port: 9})
	if err != nil {
		return err
	}
	defer func() { _ = conn.Close() }() // a datagram socket: nothing to flush
	_ = conn.SetWriteDeadline(time.Now().Add(time.Second))
	// The drop makes the send fail with EPERM; that is the point.
	_, _ = conn.Write([]byte("guard probe"))
	return nil
}

// NATTables lists the nftables tables (iptables-nft's included) that hold a
// masquerade or snat rule.
func NATTables() ([]string, error) {
	out, err := run("nft", "list", "ruleset")
	if err != nil {
		return nil, err
	}
	var tables []string
	table := ""
	for line := range strings.SplitSeq(out, "\n") {
		f := strings.Fields(line)
		switch {
		case len(f) >= 3 && f[0] == "table":
			table = f[1] + " " + f[2]
		case (slices.Contains(f, "masquerade") || slices.Contains(f, "snat")) && !slices.Contains(tables, table):
			tables = append(tables, table)
		}
	}
	return tables, nil
}
