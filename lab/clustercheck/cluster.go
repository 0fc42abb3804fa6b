package clustercheck

import (
	"context"
	"crypto/rand"
	"crypto/rsa"
	"crypto/x509"
	"encoding/hex"
	"encoding/pem"
	"errors"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"sort"
	"strconv"
	"strings"
	"syscall"
	"time"
)

// Config describes the cluster. Addresses are fixed so that the guard, the
// routes and the CNI configuration agree; NewConfig fills in the rest.
type Config struct {
	Bin         string   // directory holding the five Kubernetes binaries
	Work        string   // the cluster's state directory; removed by Stop
	Node        string   // node name: the host name, which resolves to 127.0.0.1
	Bridge      string   // the pods' bridge, created by the cluster
	BridgeIP    string   // the node's address on it, the pods' only neighbour
	PodCIDR     string   // pod addresses, on the bridge
	ServiceCIDR string   // Service cluster IPs, routed to the bridge
	GuardTable  string   // nftables table of the Guard
	Images      []string // OCI archives imported into containerd's k8s.io namespace
	SandboxImg  string   // the sandbox image, one of Images
	Logf        func(format string, args ...any)
}

// NewConfig returns the lab's addresses and names, with the binaries in bin
// and the state under work.
func NewConfig(bin, work string) (Config, error) {
	host, err := os.Hostname()
	if err != nil {
		return Config{}, err
	}
	return Config{
		Bin: bin, Work: work, Node: host,
		Bridge: "gslab0", BridgeIP: "10.244.0.1", PodCIDR: "10.244.0.0/24", ServiceCIDR: "10.96.0.0/24",
		GuardTable: "ginstarter_lab_guard",
		Logf:       func(string, ...any) {},
	}, nil
}

// Cluster is a running single-node cluster.
type Cluster struct {
	Config
	Kubeconfig string // admin credentials, for kubectl and Prometheus
	Containerd string // containerd's socket
	Guard      Guard
	ProbeDrops int // packets the guard dropped of the probe sent before the cluster started

	// Set by Stop.
	FinalDrops map[string]int // the guard's counters just before it was removed
	Restored   []string       // sysctls the components changed, restored by Stop
	Leftovers  []string       // differences between the host before Start and after Stop

	before  HostState
	procs   []*proc
	ports   map[string]int
	stopped bool
}

type proc struct {
	name string
	cmd  *exec.Cmd
	done chan struct{}
}

// Start brings the cluster up and returns when the node is Ready. On error
// it has already stopped what it started; Stop is still safe to call.
func Start(ctx context.Context, cfg Config) (c *Cluster, err error) {
	c = &Cluster{Config: cfg, ports: map[string]int{}}
	if c.before, err = ReadHostState(); err != nil {
		return nil, err
	}
	defer func() { //nolint:contextcheck // Stop takes no context: it must run to completion even when ctx is cancelled
		if err != nil {
			c.Stop()
			if len(c.Leftovers) > 0 {
				err = fmt.Errorf("%w (and left behind: %s)", err, strings.Join(c.Leftovers, "; "))
			}
		}
	}()
	if err = os.MkdirAll(c.Work, 0o750); err != nil {
		return c, err
	}
	step := func(name string, f func() error) error {
		start := time.Now()
		if err := f(); err != nil {
			return fmt.Errorf("%s: %w", name, err)
		}
		c.Logf("cluster: %-48s %6.1fs", name, time.Since(start).Seconds())
		return nil
	}
	steps := []struct {
		name string
		f    func() error
	}{
		{"guard: nftables drop counters on the real interface", c.installGuard},
		{"bridge " + c.Bridge + " and the Service route", c.bridge},
		{"guard: a probe from the bridge is dropped and counted", c.probeGuard},
		{"etcd", func() error { return c.etcd(ctx) }},
		{"kube-apiserver", func() error { return c.apiserver(ctx) }},
		{"kube-controller-manager and kube-scheduler", c.controllers},
		{"containerd, images imported", func() error { return c.containerd(ctx) }},
		{"kubelet and kube-proxy, node Ready", func() error { return c.node(ctx) }},
	}
	for _, s := range steps {
		if err = step(s.name, s.f); err != nil {
			return c, err
		}
	}
	return c, nil
}

func (c *Cluster) path(elem ...string) string {
	return filepath.Join(append([]string{c.Work}, elem...)...)
}

func (c *Cluster) installGuard() error {
	uplink, err := UplinkInterface()
	if err != nil {
		return err
	}
	c.Guard = Guard{Table: c.GuardTable, Uplink: uplink, Ranges: []string{c.PodCIDR, c.ServiceCIDR}, Bridge: c.Bridge}
	return c.Guard.Install()
}

func (c *Cluster) bridge() error {
	prefix := strings.SplitN(c.PodCIDR, "/", 2)[1]
	for _, args := range [][]string{
		{"link", "add", c.Bridge, "type", "bridge"},
		{"addr", "add", c.BridgeIP + "/" + prefix, "dev", c.Bridge},
		{"link", "set", c.Bridge, "up"},
		// The host reaches cluster IPs from its bridge address, which the pods
		// can answer without a default route; kube-proxy rewrites the
		// destination to a pod on the bridge.
		{"route", "add", c.ServiceCIDR, "dev", c.Bridge, "src", c.BridgeIP},
	} {
		if _, err := run("ip", args...); err != nil {
			return err
		}
	}
	return nil
}

func (c *Cluster) probeGuard() error {
	if err := c.Guard.Probe(c.BridgeIP, "198.51.100.1"); err != nil {
		return err
	}
	d, err := c.Guard.Drops()
	if err != nil {
		return err
	}
	c.ProbeDrops = d["postrouting_drops"]
	if c.ProbeDrops != 1 {
		return fmt.Errorf("the guard counted %v for one probe packet, want postrouting_drops 1: it would not see a leak", d)
	}
	return c.Guard.Reset()
}

// freePort returns a free TCP port on 127.0.0.1.
func freePort() (int, error) {
	// An address, not a name: nothing to look up that a context could cancel.
	l, err := net.ListenTCP("tcp", &net.TCPAddr{IP: net.IPv4(127, 0, 0, 1)})
	if err != nil {
		return 0, err
	}
	defer func() { _ = l.Close() }() // held only to learn its port: nothing to flush
	addr, ok := l.Addr().(*net.TCPAddr)
	if !ok {
		return 0, fmt.Errorf("listener address %v is a %T", l.Addr(), l.Addr())
	}
	return addr.Port, nil
}

func (c *Cluster) port(name string) int {
	if p, ok := c.ports[name]; ok {
		return p
	}
	p, err := freePort()
	if err != nil {
		panic(err) // loopback without a free port: nothing here can run
	}
	c.ports[name] = p
	return p
}

// start runs a component with its output in WORK/logs/NAME.log.
func (c *Cluster) start(name, bin string, args ...string) error {
	if err := os.MkdirAll(c.path("logs"), 0o750); err != nil {
		return err
	}
	log, err := os.Create(c.path("logs", name+".log"))
	if err != nil {
		return err
	}
	// No context: a component runs until Stop ends it by its PID.
	//nolint:gosec,noctx // G204: the cluster's own components, with arguments of this package
	cmd := exec.Command(bin, args...)
	cmd.Stdout, cmd.Stderr = log, log
	// Its own process group, and killed if this process dies first.
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true, Pdeathsig: syscall.SIGKILL}
	if err := cmd.Start(); err != nil {
		_ = log.Close() // nothing was written to it
		return err
	}
	p := &proc{name: name, cmd: cmd, done: make(chan struct{})}
	go func() {
		_ = cmd.Wait()
		_ = log.Close() // the component wrote to it, not this process: nothing to flush
		close(p.done)
	}()
	c.procs = append(c.procs, p)
	return nil
}

// alive fails when a component has exited, naming the end of its log.
func (c *Cluster) alive(name string) error {
	for _, p := range c.procs {
		if p.name != name {
			continue
		}
		select {
		case <-p.done:
			return fmt.Errorf("%s exited: %s\n%s", name, p.cmd.ProcessState, c.LogTail(name, 15))
		default:
			return nil
		}
	}
	return fmt.Errorf("%s was not started", name)
}

// LogTail returns the last n lines of a component's log.
func (c *Cluster) LogTail(name string, n int) string {
	b, _ := os.ReadFile(c.path("logs", name+".log")) //nolint:gosec // G703: a component's log in the cluster's own directory
	l := strings.Split(strings.TrimRight(string(b), "\n"), "\n")
	if len(l) > n {
		l = l[len(l)-n:]
	}
	return strings.Join(l, "\n")
}

// waitFor polls ok until it returns nil, the component dies or the time is up.
func (c *Cluster) waitFor(ctx context.Context, component string, timeout time.Duration, ok func() error) error {
	ctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	for {
		err := ok()
		if err == nil {
			return nil
		}
		if aerr := c.alive(component); aerr != nil {
			return aerr
		}
		select {
		case <-ctx.Done():
			return fmt.Errorf("%s not ready after %s: %w\n%s", component, timeout, err, c.LogTail(component, 15))
		case <-time.After(200 * time.Millisecond):
		}
	}
}

func (c *Cluster) etcd(ctx context.Context) error {
	client, peer := c.port("etcd"), c.port("etcd-peer")
	url := func(p int) string { return "http://127.0.0.1:" + strconv.Itoa(p) }
	if err := c.start("etcd", "etcd", "--name", "lab", "--data-dir", c.path("etcd"),
		"--listen-client-urls", url(client), "--advertise-client-urls", url(client),
		"--listen-peer-urls", url(peer), "--initial-advertise-peer-urls", url(peer),
		"--initial-cluster", "lab="+url(peer), "--listen-metrics-urls", "",
		"--logger", "zap", "--log-outputs", "stderr"); err != nil {
		return err
	}
	return c.waitFor(ctx, "etcd", 30*time.Second, func() error {
		_, err := httpGet(ctx, url(client)+"/health")
		return err
	})
}

func (c *Cluster) apiserver(ctx context.Context) error {
	key, err := rsa.GenerateKey(rand.Reader, 2048)
	if err != nil {
		return err
	}
	pub, err := x509.MarshalPKIXPublicKey(&key.PublicKey)
	if err != nil {
		return err
	}
	token := make([]byte, 24)
	if _, err := rand.Read(token); err != nil {
		return err
	}
	for name, data := range map[string][]byte{
		"sa.key":     pem.EncodeToMemory(&pem.Block{Type: "RSA PRIVATE KEY", Bytes: x509.MarshalPKCS1PrivateKey(key)}),
		"sa.pub":     pem.EncodeToMemory(&pem.Block{Type: "PUBLIC KEY", Bytes: pub}),
		"tokens.csv": []byte(hex.EncodeToString(token) + ",lab-admin,lab-admin,system:masters\n"),
	} {
		if err := os.WriteFile(c.path(name), data, 0o600); err != nil {
			return err
		}
	}
	api := c.port("apiserver")
	if err := c.start("kube-apiserver", filepath.Join(c.Bin, "kube-apiserver"),
		"--bind-address=127.0.0.1", "--advertise-address=127.0.0.1", "--secure-port="+strconv.Itoa(api),
		"--cert-dir="+c.path("apiserver"),
		"--etcd-servers=http://127.0.0.1:"+strconv.Itoa(c.port("etcd")),
		// Nothing keeps the default/kubernetes Service's endpoints: pods here
		// never call the API server.
		"--endpoint-reconciler-type=none",
		"--service-cluster-ip-range="+c.ServiceCIDR,
		"--service-account-issuer=https://kubernetes.default.svc",
		"--service-account-key-file="+c.path("sa.pub"),
		"--service-account-signing-key-file="+c.path("sa.key"),
		"--token-auth-file="+c.path("tokens.csv"),
		"--authorization-mode=RBAC",
		// The kubelet listens on 127.0.0.1, which the node's host name resolves to.
		"--kubelet-preferred-address-types=Hostname",
		"--profiling=false"); err != nil {
		return err
	}
	// The serving certificate appears in --cert-dir once the server runs.
	cert := c.path("apiserver", "apiserver.crt")
	c.Kubeconfig = c.path("kubeconfig")
	kubeconfig := fmt.Sprintf(`apiVersion: v1
kind: Config
clusters:
  - name: lab
    cluster:
      server: https://127.0.0.1:%d
      certificate-authority: %s
users:
  - name: lab-admin
    user:
      token: %s
contexts:
  - name: lab
    context: {cluster: lab, user: lab-admin}
current-context: lab
`, api, cert, hex.EncodeToString(token))
	if err := os.WriteFile(c.Kubeconfig, []byte(kubeconfig), 0o600); err != nil {
		return err
	}
	return c.waitFor(ctx, "kube-apiserver", 90*time.Second, func() error {
		out, err := c.Kubectl(ctx, "get", "--raw=/readyz")
		if err == nil && strings.TrimSpace(out) != "ok" {
			err = fmt.Errorf("/readyz: %s", out)
		}
		return err
	})
}

func (c *Cluster) controllers() error {
	if err := c.start("kube-controller-manager", filepath.Join(c.Bin, "kube-controller-manager"),
		"--kubeconfig="+c.Kubeconfig, "--leader-elect=false",
		"--bind-address=127.0.0.1", "--secure-port="+strconv.Itoa(c.port("controller-manager")),
		"--service-account-private-key-file="+c.path("sa.key"),
		"--root-ca-file="+c.path("apiserver", "apiserver.crt"),
		"--use-service-account-credentials=false",
		// The HorizontalPodAutoscaler raises the Deployment to its minimum
		// within seconds rather than 15.
		"--horizontal-pod-autoscaler-sync-period=2s"); err != nil {
		return err
	}
	return c.start("kube-scheduler", filepath.Join(c.Bin, "kube-scheduler"),
		"--kubeconfig="+c.Kubeconfig, "--leader-elect=false",
		"--bind-address=127.0.0.1", "--secure-port="+strconv.Itoa(c.port("scheduler")))
}

func (c *Cluster) containerd(ctx context.Context) error {
	c.Containerd = c.path("containerd", "containerd.sock")
	for _, d := range []string{"containerd", "cni/net.d", "cni/ipam"} {
		if err := os.MkdirAll(c.path(d), 0o750); err != nil {
			return err
		}
	}
	// CRI: the sandbox image is local, and the OOM score of a container is
	// never lowered below containerd's own (root here lacks
	// CAP_SYS_RESOURCE; without this runc fails to start any container).
	config := fmt.Sprintf(`version = 2
root = %[1]q
state = %[2]q
disabled_plugins = ["io.containerd.snapshotter.v1.btrfs", "io.containerd.snapshotter.v1.zfs", "io.containerd.snapshotter.v1.aufs", "io.containerd.snapshotter.v1.devmapper"]

[grpc]
  address = %[3]q

[ttrpc]
  address = %[4]q

[plugins."io.containerd.internal.v1.opt"]
  path = %[5]q

[plugins."io.containerd.grpc.v1.cri"]
  sandbox_image = %[6]q
  restrict_oom_score_adj = true
  enable_selinux = false
  [plugins."io.containerd.grpc.v1.cri".containerd]
    snapshotter = "overlayfs"
    default_runtime_name = "runc"
    [plugins."io.containerd.grpc.v1.cri".containerd.runtimes.runc]
      runtime_type = "io.containerd.runc.v2"
  [plugins."io.containerd.grpc.v1.cri".cni]
    bin_dir = "/usr/lib/cni"
    conf_dir = %[7]q
`, c.path("containerd", "root"), c.path("containerd", "state"), c.Containerd, c.Containerd+".ttrpc",
		c.path("containerd", "opt"), c.SandboxImg, c.path("cni", "net.d"))
	if err := os.WriteFile(c.path("containerd", "config.toml"), []byte(config), 0o600); err != nil {
		return err
	}
	// No default route and no masquerade: pods reach the node and each other.
	cni := fmt.Sprintf(`{
  "cniVersion": "0.4.0",
  "name": "lab",
  "plugins": [{
    "type": "bridge",
    "bridge": %q,
    "isGateway": false,
    "isDefaultGateway": false,
    "ipMasq": false,
    "ipam": {
      "type": "host-local",
      "dataDir": %q,
      "ranges": [[{"subnet": %q, "rangeStart": %q}]]
    }
  }]
}
`, c.Bridge, c.path("cni", "ipam"), c.PodCIDR, strings.TrimSuffix(c.BridgeIP, ".1")+".10")
	if err := os.WriteFile(c.path("cni", "net.d", "10-lab.conflist"), []byte(cni), 0o600); err != nil {
		return err
	}
	if err := c.start("containerd", "containerd", "--config", c.path("containerd", "config.toml")); err != nil {
		return err
	}
	if err := c.waitFor(ctx, "containerd", 30*time.Second, func() error {
		_, err := c.Ctr(ctx, "version")
		return err
	}); err != nil {
		return err
	}
	for _, img := range c.Images {
		out, err := c.Ctr(ctx, "images", "import", img)
		if err != nil {
			return fmt.Errorf("importing %s: %w", img, err)
		}
		c.Logf("cluster: %s", strings.TrimSpace(out))
	}
	return nil
}

func (c *Cluster) node(ctx context.Context) error {
	kubelet := fmt.Sprintf(`apiVersion: kubelet.config.k8s.io/v1beta1
kind: KubeletConfiguration
address: 127.0.0.1
port: %d
readOnlyPort: 0
healthzBindAddress: 127.0.0.1
healthzPort: %d
authentication:
  anonymous: {enabled: false}
  webhook: {enabled: true}
authorization:
  mode: Webhook
containerRuntimeEndpoint: unix://%s
# cgroups are v1 on this machine.
cgroupDriver: cgroupfs
failCgroupV1: false
failSwapOn: false
staticPodPath: ""
clusterDomain: cluster.local
resolvConf: /etc/resolv.conf
maxPods: 16
serializeImagePulls: false
evictionHard:
  memory.available: 100Mi
  nodefs.available: "1%%"
  imagefs.available: "1%%"
imageGCHighThresholdPercent: 100
imageGCLowThresholdPercent: 99
`, c.port("kubelet"), c.port("kubelet-healthz"), c.Containerd)
	if err := os.WriteFile(c.path("kubelet.yaml"), []byte(kubelet), 0o600); err != nil {
		return err
	}
	if err := c.start("kubelet", filepath.Join(c.Bin, "kubelet"),
		"--config="+c.path("kubelet.yaml"), "--kubeconfig="+c.Kubeconfig,
		"--root-dir="+c.path("kubelet"), "--cert-dir="+c.path("kubelet", "pki"),
		"--hostname-override="+c.Node, "--node-ip="+c.BridgeIP); err != nil {
		return err
	}
	proxy := fmt.Sprintf(`apiVersion: kubeproxy.config.k8s.io/v1alpha1
kind: KubeProxyConfiguration
mode: nftables
clientConnection:
  kubeconfig: %s
hostnameOverride: %s
clusterCIDR: %s
bindAddress: 127.0.0.1
healthzBindAddress: 127.0.0.1:%d
metricsBindAddress: 127.0.0.1:%d
nodePortAddresses: [%s/32]
# Leave the host's conntrack sysctls as they are.
conntrack:
  maxPerCore: 0
  min: 0
  tcpEstablishedTimeout: 0s
  tcpCloseWaitTimeout: 0s
`, c.Kubeconfig, c.Node, c.PodCIDR, c.port("proxy-healthz"), c.port("proxy-metrics"), c.BridgeIP)
	if err := os.WriteFile(c.path("kube-proxy.yaml"), []byte(proxy), 0o600); err != nil {
		return err
	}
	if err := c.start("kube-proxy", filepath.Join(c.Bin, "kube-proxy"), "--config="+c.path("kube-proxy.yaml")); err != nil {
		return err
	}
	return c.waitFor(ctx, "kubelet", 120*time.Second, func() error {
		out, err := c.Kubectl(ctx, "get", "node", c.Node, "-o", `jsonpath={.status.conditions[?(@.type=="Ready")].status}`)
		if err == nil && out != "True" {
			err = fmt.Errorf("node Ready=%q", out)
		}
		if err == nil {
			err = c.alive("kube-proxy")
		}
		return err
	})
}

// Kubectl runs kubectl against the cluster and returns its standard output.
func (c *Cluster) Kubectl(ctx context.Context, args ...string) (string, error) {
	return runCtx(ctx, "kubectl", append([]string{"--kubeconfig=" + c.Kubeconfig}, args...)...)
}

// Ctr runs containerd's ctr in the k8s.io namespace (the CRI's).
func (c *Cluster) Ctr(ctx context.Context, args ...string) (string, error) {
	return runCtx(ctx, "ctr", append([]string{"--address", c.Containerd, "--namespace", "k8s.io"}, args...)...)
}

// TaskPID returns the host PID of a container's process, from its CRI
// container ID.
func (c *Cluster) TaskPID(ctx context.Context, containerID string) (int, error) {
	out, err := c.Ctr(ctx, "tasks", "ls")
	if err != nil {
		return 0, err
	}
	for l := range strings.SplitSeq(out, "\n") {
		if f := strings.Fields(l); len(f) >= 2 && f[0] == containerID {
			return strconv.Atoi(f[1])
		}
	}
	return 0, fmt.Errorf("no task %s in\n%s", containerID, out)
}

func runCtx(ctx context.Context, name string, args ...string) (string, error) {
	ctx, cancel := context.WithTimeout(ctx, 2*time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, name, args...) //nolint:gosec // G204: kubectl and ctr, with arguments of this package
	var stdout, stderr strings.Builder
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	if err := cmd.Run(); err != nil {
		return stdout.String(), fmt.Errorf("%s %s: %w: %s", name, strings.Join(args, " "), err, strings.TrimSpace(stderr.String()))
	}
	return stdout.String(), nil
}

// Stop takes the cluster down and puts the host back as Start found it:
// pods deleted, every process stopped by its PID, containers' processes and
// shims too, mounts unmounted, network namespaces, links, nftables tables
// and iptables chains deleted, cgroups removed, sysctls restored, state
// directories removed. Then it reads the guard's counters, removes the guard
// and compares the host with what it was; Leftovers lists any difference.
func (c *Cluster) Stop() []error {
	if c.stopped {
		return nil
	}
	c.stopped = true
	var errs []error
	note := func(err error) {
		if err != nil {
			errs = append(errs, err)
		}
	}
	ctx := context.Background()

	// Pods first, while the kubelet runs: it stops their sandboxes, which
	// tears down their network (CNI DEL) and their namespaces.
	if c.alive("kubelet") == nil && c.alive("kube-apiserver") == nil {
		// Their controllers first, so that nothing recreates them.
		_, err := c.Kubectl(ctx, "delete", "horizontalpodautoscalers,deployments,replicasets,daemonsets,statefulsets,jobs", "--all", "--all-namespaces")
		note(err)
		_, err = c.Kubectl(ctx, "delete", "pods", "--all", "--all-namespaces", "--grace-period=1", "--wait=false")
		note(err)
		note(c.waitFor(ctx, "kubelet", 90*time.Second, func() error {
			out, err := c.Kubectl(ctx, "get", "pods", "--all-namespaces", "-o", "name")
			if err == nil && strings.TrimSpace(out) != "" {
				err = fmt.Errorf("pods remain: %s", strings.Join(strings.Fields(out), " "))
			}
			return err
		}))
	}
	// The node's components, newest first, each by its PID.
	for _, p := range slices.Backward(c.procs) {
		if p.name == "containerd" {
			// Containers' tasks go through containerd, before it stops.
			note(c.removeContainers(ctx))
		}
		note(stopProc(p))
	}
	note(c.killShims())
	note(c.unmount())
	now, err := ReadHostState()
	note(err)
	for _, ns := range now.Netns {
		if !slices.Contains(c.before.Netns, ns) {
			_, err := run("ip", "netns", "delete", ns)
			note(err)
		}
	}
	for _, t := range now.NFTables {
		if !slices.Contains(c.before.NFTables, t) && t != "inet "+c.GuardTable {
			_, err := run("nft", append([]string{"delete", "table"}, strings.Fields(t)...)...)
			note(err)
		}
	}
	if now, err = ReadHostState(); err == nil {
		for _, ch := range now.Chains {
			if slices.Contains(c.before.Chains, ch) {
				continue
			}
			f := strings.Fields(ch) // iptables TABLE CHAIN
			_, _ = run(f[0], "-t", f[1], "-F", f[2])
			_, _ = run(f[0], "-t", f[1], "-X", f[2]) // built-in chains refuse: they go with their table
		}
		for _, cg := range now.Cgroups {
			if !slices.Contains(c.before.Cgroups, cg) {
				note(removeCgroup(filepath.Join("/sys/fs/cgroup", cg)))
			}
		}
		for _, l := range now.Links {
			if l == c.Bridge || (strings.HasPrefix(l, "veth") && !slices.Contains(c.before.Links, l)) {
				_, err := run("ip", "link", "delete", l)
				note(err)
			}
		}
		changed := c.before.ChangedSysctls(now)
		for k, v := range changed {
			c.Restored = append(c.Restored, fmt.Sprintf("%s from %s back to %s", k, now.Sysctls[k], v))
		}
		sort.Strings(c.Restored)
		note(RestoreSysctls(changed))
	}
	note(err)
	for _, p := range WatchedPaths {
		if !slices.Contains(c.before.Paths, p) {
			note(os.RemoveAll(p))
		}
	}
	note(os.RemoveAll(c.Work))
	if c.Guard.Table != "" {
		d, err := c.Guard.Drops()
		note(err)
		c.FinalDrops = d
		note(c.Guard.Remove())
	}
	after, err := ReadHostState()
	note(err)
	if err == nil {
		c.Leftovers = c.before.Diff(after)
	}
	return errs
}

// stopProc sends SIGTERM and, after 15 s, SIGKILL, and waits for the exit.
func stopProc(p *proc) error {
	select {
	case <-p.done:
		return nil
	default:
	}
	_ = p.cmd.Process.Signal(syscall.SIGTERM)
	select {
	case <-p.done:
		return nil
	case <-time.After(15 * time.Second):
	}
	_ = p.cmd.Process.Kill()
	select {
	case <-p.done:
		return fmt.Errorf("%s (pid %d) ignored SIGTERM for 15s and was killed", p.name, p.cmd.Process.Pid)
	case <-time.After(10 * time.Second):
		return fmt.Errorf("%s (pid %d) did not exit after SIGKILL", p.name, p.cmd.Process.Pid)
	}
}

// removeContainers kills and deletes every task and container containerd
// still has (the kubelet stops sandboxes but removes them only later).
func (c *Cluster) removeContainers(ctx context.Context) error {
	if c.alive("containerd") != nil {
		return nil
	}
	out, err := c.Ctr(ctx, "containers", "ls", "-q")
	if err != nil {
		return err
	}
	var errs []error
	for id := range strings.FieldsSeq(out) {
		if _, err := c.Ctr(ctx, "tasks", "delete", "--force", id); err != nil && !strings.Contains(err.Error(), "not found") {
			errs = append(errs, err)
		}
		if _, err := c.Ctr(ctx, "containers", "delete", id); err != nil {
			errs = append(errs, err)
		}
	}
	return errors.Join(errs...)
}

// killShims stops any containerd shim of this cluster's containerd that
// outlived it, found by the socket address on its command line.
func (c *Cluster) killShims() error {
	if c.Containerd == "" {
		return nil
	}
	var pids []int
	entries, _ := os.ReadDir("/proc")
	for _, e := range entries {
		pid, err := strconv.Atoi(e.Name())
		if err != nil {
			continue
		}
		cmdline, _ := os.ReadFile(filepath.Join("/proc", e.Name(), "cmdline"))
		if strings.Contains(string(cmdline), c.Containerd) {
			pids = append(pids, pid)
		}
	}
	for _, pid := range pids {
		_ = syscall.Kill(pid, syscall.SIGKILL)
	}
	for _, pid := range pids {
		for i := 0; i < 50 && syscall.Kill(pid, 0) == nil; i++ {
			time.Sleep(100 * time.Millisecond)
		}
		if syscall.Kill(pid, 0) == nil {
			return fmt.Errorf("shim %d still runs after SIGKILL", pid)
		}
	}
	return nil
}

// unmount unmounts, deepest first, every mount under the state directory,
// containerd's fixed /run/containerd and pods' network namespaces.
func (c *Cluster) unmount() error {
	mounts, err := mountPoints()
	if err != nil {
		return err
	}
	var ours []string
	for _, m := range mounts {
		if slices.Contains(c.before.Mounts, m) {
			continue
		}
		for _, root := range []string{c.Work + "/", "/run/containerd/", "/var/run/netns/", "/run/netns/", "/var/lib/kubelet/"} {
			if strings.HasPrefix(m+"/", root) {
				ours = append(ours, m)
			}
		}
	}
	sort.Slice(ours, func(i, j int) bool { return len(ours[i]) > len(ours[j]) })
	var errs []error
	for _, m := range ours {
		if err := syscall.Unmount(m, syscall.MNT_DETACH); err != nil && !errors.Is(err, syscall.EINVAL) {
			errs = append(errs, fmt.Errorf("unmount %s: %w", m, err))
		}
	}
	return errors.Join(errs...)
}

// removeCgroup removes a cgroup v1 directory and its children, deepest
// first; rmdir fails while a process is still in one.
func removeCgroup(dir string) error {
	var dirs []string
	_ = filepath.WalkDir(dir, func(p string, d os.DirEntry, err error) error {
		if err == nil && d.IsDir() {
			dirs = append(dirs, p)
		}
		return nil
	})
	var errs []error
	for _, d := range slices.Backward(dirs) {
		if err := syscall.Rmdir(d); err != nil && !errors.Is(err, syscall.ENOENT) {
			errs = append(errs, fmt.Errorf("rmdir %s: %w", d, err))
		}
	}
	return errors.Join(errs...)
}
