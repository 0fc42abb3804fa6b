package clustercheck

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"
)

const (
	namespace = "ginstarter" // the prod overlay's
	selector  = "app.kubernetes.io/name=ginstarter"
	replicas  = 3 // the prod HorizontalPodAutoscaler's minimum
	imageRepo = "docker.io/library/ginstarter"
)

// repoRoot is the service's repository, two levels up.
var repoRoot, _ = filepath.Abs("../..")

// TestCluster runs deploy/overlays/prod on a single-node cluster started
// here, and takes the cluster down again at the end. See README.md.
func TestCluster(t *testing.T) {
	needRoot(t)
	bin := os.Getenv("KUBERNETES_BIN")
	if bin == "" {
		t.Skip("KUBERNETES_BIN is not set, so the cluster test does not run: `make -C lab e2e-cluster` builds the Kubernetes binaries (once per machine) and sets it")
	}
	for _, c := range []string{"kube-apiserver", "kube-controller-manager", "kube-scheduler", "kubelet", "kube-proxy"} {
		if _, err := os.Stat(filepath.Join(bin, c)); err != nil { //nolint:gosec // G703: KUBERNETES_BIN names the binaries under test
			t.Skipf("no %s in KUBERNETES_BIN=%s, so the cluster test does not run: build them with `bash lab/k8scheck/build-kubernetes`", c, bin)
		}
	}
	for _, c := range []string{"containerd", "containerd-shim-runc-v2", "runc", "ctr", "etcd", "nft", "iptables-save", "conntrack", "nsenter", "kubectl", "/usr/lib/cni/bridge"} {
		if _, err := exec.LookPath(c); err != nil {
			t.Skipf("%s is missing, so the cluster test does not run: `make -C lab e2e-cluster` installs the Debian packages it needs", c)
		}
	}
	promBin := os.Getenv("PROMETHEUS_BIN")
	if _, err := os.Stat(filepath.Join(promBin, "prometheus")); promBin == "" || err != nil { //nolint:gosec // G703: PROMETHEUS_BIN names the Prometheus to run
		t.Skip("no prometheus in PROMETHEUS_BIN, so the cluster test does not run: `bash lab/prometheus/build` builds one with Kubernetes service discovery (Debian's has none)")
	}
	crds := os.Getenv("PROMETHEUS_OPERATOR_CRDS")
	if crds == "" {
		t.Skip("PROMETHEUS_OPERATOR_CRDS is not set, so the cluster test does not run (the prod overlay's ServiceMonitor needs the CRDs): `make -C lab e2e-cluster` sets it")
	}

	ctx := context.Background()
	work, err := os.MkdirTemp("", "gslab-")
	if err != nil {
		t.Fatal(err)
	}
	images := buildImages(t, filepath.Join(work, "images"))
	cfg, err := NewConfig(bin, filepath.Join(work, "cluster"))
	if err != nil {
		t.Fatal(err)
	}
	cfg.Images = images
	cfg.SandboxImg = "localhost/ginstarter-lab/pause:1"
	cfg.Logf = t.Logf
	start := time.Now()
	c, err := Start(ctx, cfg)
	t.Cleanup(func() {
		if t.Failed() && c != nil {
			for _, name := range []string{"kubelet", "containerd", "kube-proxy", "kube-controller-manager"} {
				t.Logf("--- end of %s's log\n%s", name, c.LogTail(name, 20))
			}
		}
		stopCluster(t, c)
		_ = os.RemoveAll(work)
	})
	if err != nil {
		t.Fatal(err)
	}
	t.Logf("cluster: node %s Ready %.1fs after the start", c.Node, time.Since(start).Seconds())

	d := &deployment{t: t, c: c, ctx: ctx, promBin: promBin}
	if !t.Run("restricted pods serve", func(t *testing.T) { d.t = t; testRestricted(d, crds) }) {
		t.FailNow()
	}
	t.Run("zero failed requests through rollouts", func(t *testing.T) { d.t = t; testRollouts(d) })
	t.Run("Prometheus discovers and scrapes every pod", func(t *testing.T) { d.t = t; testPrometheus(d) })
}

// stopCluster takes the cluster down and asserts that nothing is left: no
// process, mount, namespace, link, nftables table, iptables chain, cgroup or
// state directory it made, every sysctl as before, and no packet of the
// cluster's ranges dropped at the real interface.
func stopCluster(t *testing.T, c *Cluster) {
	if c == nil {
		return
	}
	start := time.Now()
	var pids []int
	for _, p := range c.procs {
		pids = append(pids, p.cmd.Process.Pid)
	}
	for _, err := range c.Stop() {
		t.Errorf("stopping the cluster: %v", err)
	}
	t.Logf("cluster: stopped and cleaned up in %.1fs; sysctls restored: %v", time.Since(start).Seconds(), c.Restored)
	for i, pid := range pids {
		if syscall.Kill(pid, 0) == nil {
			t.Errorf("%s (pid %d) still runs", c.procs[i].name, pid)
		}
	}
	if left := processesUnder(c.Work, c.Containerd); len(left) > 0 {
		t.Errorf("processes of the cluster still run: %s", strings.Join(left, "; "))
	}
	if len(c.Leftovers) > 0 {
		t.Errorf("the host differs from before the cluster started:\n%s", strings.Join(c.Leftovers, "\n"))
	} else {
		t.Log("nothing left behind: mounts, network namespaces, links, routes, nftables tables, iptables chains, sysctls, cgroups and paths as before")
	}
	if c.FinalDrops == nil {
		t.Error("the guard's counters were not read")
	}
	for name, n := range c.FinalDrops {
		if n != 0 {
			t.Errorf("guard counter %s = %d: packets of the cluster's ranges tried to leave through %s", name, n, c.Guard.Uplink)
		}
	}
	t.Logf("guard on %s: %v packets dropped (the probe before the start: %d, as it must be)", c.Guard.Uplink, c.FinalDrops, c.ProbeDrops)
}

// processesUnder lists processes whose command line or executable names one
// of the given paths.
func processesUnder(paths ...string) []string {
	var found []string
	entries, _ := os.ReadDir("/proc")
	for _, e := range entries {
		if e.Name() == strconv.Itoa(os.Getpid()) {
			continue
		}
		cmdline, err := os.ReadFile(filepath.Join("/proc", e.Name(), "cmdline"))
		if err != nil {
			continue
		}
		exe, _ := os.Readlink(filepath.Join("/proc", e.Name(), "exe"))
		for _, p := range paths {
			if p != "" && (strings.Contains(string(cmdline), p) || strings.HasPrefix(exe, p)) {
				found = append(found, e.Name()+" "+strings.ReplaceAll(string(cmdline), "\x00", " "))
			}
		}
	}
	return found
}

// buildImages builds the service twice (versions e2e-1 and e2e-2, for a
// rolling update to a new tag) and the sandbox program, each a static
// binary in a FROM-scratch image, and writes them as OCI archives.
func buildImages(t *testing.T, dir string) []string {
	t.Helper()
	if err := os.MkdirAll(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	build := func(out, pkgDir, ldflags string) {
		cmd := exec.Command("go", "build", "-trimpath", "-ldflags", "-s -w "+ldflags, "-o", out, ".")
		cmd.Dir = pkgDir
		cmd.Env = append(os.Environ(), "CGO_ENABLED=0")
		if b, err := cmd.CombinedOutput(); err != nil {
			t.Fatalf("go build in %s: %v\n%s", pkgDir, err, b)
		}
	}
	var archives []string
	for _, tag := range []string{"e2e-1", "e2e-2"} {
		binary := filepath.Join(dir, "ginstarter-"+tag)
		build(binary, repoRoot, "-X main.version="+tag)
		img := Image{Name: imageRepo + ":" + tag, Binary: binary, Entrypoint: "/ginstarter", User: "65532:65532", Dirs: []string{"tmp"}}
		archives = append(archives, filepath.Join(dir, tag+".tar"))
		if err := img.WriteOCIArchive(archives[len(archives)-1]); err != nil {
			t.Fatal(err)
		}
	}
	pause := filepath.Join(dir, "pause")
	build(pause, "cmd/pause", "")
	archives = append(archives, filepath.Join(dir, "pause.tar"))
	img := Image{Name: "localhost/ginstarter-lab/pause:1", Binary: pause, Entrypoint: "/pause", User: "65535:65535"}
	if err := img.WriteOCIArchive(archives[len(archives)-1]); err != nil {
		t.Fatal(err)
	}
	return archives
}

// deployment is the prod overlay running in the cluster.
type deployment struct {
	t   *testing.T
	c   *Cluster
	ctx context.Context
	ip  string // the Service's cluster IP

	promBin string // directory of prometheus and promtool
}

func (d *deployment) kubectl(args ...string) string {
	d.t.Helper()
	out, err := d.c.Kubectl(d.ctx, args...)
	if err != nil {
		d.t.Fatal(err)
	}
	return out
}

func (d *deployment) pods() []Pod {
	d.t.Helper()
	var list struct{ Items []Pod }
	if err := json.Unmarshal([]byte(d.kubectl("get", "pods", "-n", namespace, "-l", selector, "-o", "json")), &list); err != nil {
		d.t.Fatal(err)
	}
	return list.Items
}

// settled waits until the Deployment has exactly replicas pods, all Ready
// and none terminating, none of them named in gone, and returns them.
func (d *deployment) settled(timeout time.Duration, gone ...string) []Pod {
	d.t.Helper()
	deadline := time.Now().Add(timeout)
	var state string
	for time.Now().Before(deadline) {
		pods := d.pods()
		ready, old := 0, 0
		for _, p := range pods {
			if p.Ready() && p.Metadata.DeletionTimestamp == nil {
				ready++
			}
			if slices.Contains(gone, p.Metadata.Name) {
				old++
			}
		}
		state = fmt.Sprintf("%d pods, %d Ready and not terminating, %d of those to go", len(pods), ready, old)
		if len(pods) == replicas && ready == replicas && old == 0 {
			return pods
		}
		time.Sleep(250 * time.Millisecond)
	}
	d.t.Fatalf("the Deployment did not settle in %s: %s\n%s", timeout, state, d.kubectl("get", "pods,replicasets,hpa", "-n", namespace, "-o", "wide"))
	return nil
}

func names(pods []Pod) []string {
	var n []string
	for _, p := range pods {
		n = append(n, p.Metadata.Name)
	}
	slices.Sort(n)
	return n
}

func testRestricted(d *deployment, crds string) {
	t := d.t
	// The overlay's ServiceMonitor and PrometheusRule need their CRDs.
	for _, crd := range []string{"servicemonitors", "prometheusrules"} {
		d.kubectl("apply", "--server-side", "-f", filepath.Join(crds, "monitoring.coreos.com_"+crd+".yaml"))
		d.kubectl("wait", "--for=condition=Established", "--timeout=60s", "crd/"+crd+".monitoring.coreos.com")
	}
	// The prod overlay as shipped, with the image built here and the demo
	// endpoints on (for the in-flight gauge below).
	kdir := filepath.Join(d.c.Work, "deploy")
	if err := os.MkdirAll(kdir, 0o755); err != nil {
		t.Fatal(err)
	}
	// kustomize takes a base only by a relative path.
	prod, err := filepath.Rel(kdir, filepath.Join(repoRoot, "deploy/overlays/prod"))
	if err != nil {
		t.Fatal(err)
	}
	kustomization := fmt.Sprintf(`apiVersion: kustomize.config.k8s.io/v1beta1
kind: Kustomization
namespace: %s
resources:
  - %s
images:
  - name: ginstarter
    newName: %s
    newTag: e2e-1
configMapGenerator:
  - name: ginstarter
    behavior: merge
    literals:
      - DEMO_ENDPOINTS=true
`, namespace, prod, imageRepo)
	if err := os.WriteFile(filepath.Join(kdir, "kustomization.yaml"), []byte(kustomization), 0o644); err != nil {
		t.Fatal(err)
	}
	rendered := filepath.Join(d.c.Work, "prod.yaml")
	if err := os.WriteFile(rendered, []byte(d.kubectl("kustomize", kdir)), 0o644); err != nil {
		t.Fatal(err)
	}
	start := time.Now()
	out, err := d.c.Kubectl(d.ctx, "apply", "--server-side", "-f", rendered)
	t.Logf("kubectl apply --server-side (the prod overlay):\n%s", strings.TrimSpace(out))
	if err != nil {
		t.Fatal(err)
	}
	if strings.Contains(out, "Warning") {
		t.Errorf("applying the prod overlay warned:\n%s", out)
	}
	pods := d.settled(3*time.Minute, nil...)
	t.Logf("prod overlay applied: %d pods Ready %.1fs later (the HorizontalPodAutoscaler's minimum)", len(pods), time.Since(start).Seconds())

	// The namespace enforces "restricted": a pod without the security
	// context is refused, so the ones running passed the check.
	if got := d.kubectl("get", "namespace", namespace, "-o", `jsonpath={.metadata.labels.pod-security\.kubernetes\.io/enforce}`); got != "restricted" {
		t.Errorf("namespace %s enforces %q, want restricted", namespace, got)
	}
	_, err = d.c.Kubectl(d.ctx, "run", "unrestricted", "-n", namespace, "--image="+imageRepo+":e2e-1", "--restart=Never", "--dry-run=server")
	if err == nil || !strings.Contains(err.Error(), "violates PodSecurity") {
		t.Errorf("a pod without a restricted security context was not refused by Pod Security admission: %v", err)
	}

	var svc Service
	if err := json.Unmarshal([]byte(d.kubectl("get", "service", "ginstarter", "-n", namespace, "-o", "json")), &svc); err != nil {
		t.Fatal(err)
	}
	d.ip = svc.Spec.ClusterIP
	for _, path := range []string{"/readyz", "/healthz"} {
		if _, err := httpGet(d.ctx, "http://"+d.ip+":8080"+path); err != nil {
			t.Errorf("through the Service: %v", err)
		}
	}
	t.Logf("/readyz and /healthz: 200 through the Service at %s:8080", d.ip)

	for _, p := range pods {
		body, err := httpGet(d.ctx, "http://"+p.Status.PodIP+":9090/metrics")
		if err != nil || !strings.Contains(body, "service_build_info{") || !strings.Contains(body, `"e2e-1"`) {
			t.Errorf("pod %s: /metrics on its metrics port has no service_build_info of version e2e-1: %v\n%s", p.Metadata.Name, err, tail(body, 5))
		}
		if len(p.Status.ContainerStatuses) != 1 {
			t.Fatalf("pod %s has %d containers, want 1", p.Metadata.Name, len(p.Status.ContainerStatuses))
		}
		id := strings.TrimPrefix(p.Status.ContainerStatuses[0].ContainerID, "containerd://")
		pid, err := d.c.TaskPID(d.ctx, id)
		if err != nil {
			t.Fatal(err)
		}
		checkProcess(t, p.Metadata.Name, pid)
	}
	t.Logf("/metrics: 200 with service_build_info version e2e-1 on port 9090 of each pod")

	// No masquerade on the way out: the CNI configuration has none, and the
	// only source NAT on the machine is kube-proxy's, for packets it marks
	// on their way to a pod (a pod reaching itself through its Service).
	nat, err := NATTables()
	if err != nil {
		t.Fatal(err)
	}
	for _, table := range nat {
		if table != "ip kube-proxy" && table != "ip6 kube-proxy" {
			t.Errorf("nftables table %s masquerades or rewrites source addresses: only kube-proxy's may", table)
		}
	}
	t.Logf("source NAT only in kube-proxy's tables: %v", nat)
}

// checkProcess reads the running container's process from the host: its
// user and group, its root filesystem (read-only: a write must fail), and its
// network namespace's routes (no default route).
func checkProcess(t *testing.T, pod string, pid int) {
	t.Helper()
	status, err := os.ReadFile(fmt.Sprintf("/proc/%d/status", pid))
	if err != nil {
		t.Fatal(err)
	}
	for l := range strings.SplitSeq(string(status), "\n") {
		if f := strings.Fields(l); len(f) == 5 && (f[0] == "Uid:" || f[0] == "Gid:") {
			if f[1] != "65532" || f[2] != "65532" || f[3] != "65532" || f[4] != "65532" {
				t.Errorf("pod %s: %s, want 65532 for real, effective, saved and file system", pod, l)
			}
		}
	}
	probe := fmt.Sprintf("/proc/%d/root/write-probe", pid)
	err = os.WriteFile(probe, []byte("x"), 0o644)
	if !errors.Is(err, syscall.EROFS) {
		_ = os.Remove(probe)
		t.Errorf("pod %s: writing to the root filesystem: %v, want %v", pod, err, syscall.EROFS)
	}
	routes, err := run("nsenter", "--net=/proc/"+strconv.Itoa(pid)+"/ns/net", "ip", "-4", "route")
	if err != nil {
		t.Fatal(err)
	}
	if strings.Contains(routes, "default") || strings.TrimSpace(routes) == "" {
		t.Errorf("pod %s: routes %q, want only the pods' subnet and no default route", pod, routes)
	}
	t.Logf("pod %s: pid %d runs as uid/gid 65532, root filesystem read-only (EROFS), routes: %s", pod, pid, strings.TrimSpace(routes))
}

// rollout runs load through the Service while change happens and the
// Deployment settles again, and returns what the load saw.
func (d *deployment) rollout(name string, change func(old []Pod) []string) LoadResult {
	t := d.t
	before := d.settled(time.Minute)
	load := StartLoad("http://"+d.ip+":8080/v1/items", 8, 300, 4*time.Minute, 200_000)
	time.Sleep(time.Second)
	start := time.Now()
	gone := change(before)
	after := d.settled(3*time.Minute, gone...)
	took := time.Since(start)
	time.Sleep(time.Second)
	res := load.Stop()
	t.Logf("%s: %s; settled in %.1fs; pods %v -> %v", name, res, took.Seconds(), names(before), names(after))
	if res.Requests == 0 {
		t.Errorf("%s: no request was sent", name)
	}
	return res
}

func testRollouts(d *deployment) {
	t := d.t
	if d.ip == "" {
		t.Fatal("no Service address: the deployment did not come up")
	}
	all := func(old []Pod) []string { return names(old) }
	scenarios := []struct {
		name   string
		change func(old []Pod) []string
	}{
		{"rolling update to a new image tag", func(old []Pod) []string {
			d.kubectl("set", "image", "-n", namespace, "deployment/ginstarter", "ginstarter="+imageRepo+":e2e-2")
			return all(old)
		}},
		{"kubectl rollout restart", func(old []Pod) []string {
			d.kubectl("rollout", "restart", "-n", namespace, "deployment/ginstarter")
			return all(old)
		}},
		{"deleting one pod", func(old []Pod) []string {
			d.kubectl("delete", "pod", "-n", namespace, old[0].Metadata.Name, "--wait=false")
			return []string{old[0].Metadata.Name}
		}},
	}
	for _, s := range scenarios {
		if res := d.rollout(s.name, s.change); res.Failures != 0 {
			t.Errorf("%s: %d of %d requests failed, want 0", s.name, res.Failures, res.Requests)
		}
	}
	if v, err := httpGet(d.ctx, "http://"+d.ip+":8080/version"); err != nil || !strings.Contains(v, "e2e-2") {
		t.Errorf("after the update /version = %q (%v), want version e2e-2", v, err)
	}

	// The negative control: without the drain delay a pod stops listening as
	// soon as it gets SIGTERM, before kube-proxy has taken it out of the
	// Service, and the same rollout must show failed requests.
	old := names(d.settled(time.Minute))
	d.kubectl("set", "env", "-n", namespace, "deployment/ginstarter", "SHUTDOWN_DRAIN_DELAY=0s")
	d.settled(3*time.Minute, old...)
	res := d.rollout("control: kubectl rollout restart with SHUTDOWN_DRAIN_DELAY=0s", func(old []Pod) []string {
		d.kubectl("rollout", "restart", "-n", namespace, "deployment/ginstarter")
		return all(old)
	})
	if res.Failures == 0 {
		t.Errorf("control: with no drain delay no request failed (%s): this load would not see a broken rollout", res)
	}
	old = names(d.settled(time.Minute))
	d.kubectl("set", "env", "-n", namespace, "deployment/ginstarter", "SHUTDOWN_DRAIN_DELAY-")
	d.settled(3*time.Minute, old...)
}

func testPrometheus(d *deployment) {
	t := d.t
	if d.ip == "" {
		t.Fatal("no Service address: the deployment did not come up")
	}
	dir := filepath.Join(d.c.Work, "prometheus")
	if err := os.MkdirAll(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	config, err := PrometheusConfig(filepath.Join(repoRoot, "deploy/prometheus/scrape-config.yml"), dir, d.c.Kubeconfig, "1s")
	if err != nil {
		t.Fatal(err)
	}
	if out, err := exec.Command(filepath.Join(d.promBin, "promtool"), "check", "config", config).CombinedOutput(); err != nil {
		t.Fatalf("promtool check config: %v\n%s", err, out)
	}
	port, err := freePort()
	if err != nil {
		t.Fatal(err)
	}
	base := fmt.Sprintf("http://127.0.0.1:%d", port)
	log, err := os.Create(filepath.Join(dir, "prometheus.log"))
	if err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command(filepath.Join(d.promBin, "prometheus"), "--config.file="+config, "--storage.tsdb.path="+filepath.Join(dir, "data"),
		fmt.Sprintf("--web.listen-address=127.0.0.1:%d", port))
	cmd.Stdout, cmd.Stderr = log, log
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true, Pdeathsig: syscall.SIGKILL}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		_ = cmd.Process.Signal(syscall.SIGTERM)
		done := make(chan struct{})
		go func() { _ = cmd.Wait(); close(done) }()
		select {
		case <-done:
		case <-time.After(15 * time.Second):
			_ = cmd.Process.Kill()
			<-done
			t.Errorf("prometheus (pid %d) ignored SIGTERM for 15s", cmd.Process.Pid)
		}
		log.Close()
		if t.Failed() {
			b, _ := os.ReadFile(log.Name())
			t.Logf("--- prometheus.log\n%s", tail(string(b), 20))
		}
	})

	// Every pod is a target and is up; nothing else is.
	targetsAre := func(want []string, timeout time.Duration) {
		t.Helper()
		deadline := time.Now().Add(timeout)
		var got []string
		for time.Now().Before(deadline) {
			ts, err := Targets(base, "ginstarter")
			got = nil
			for _, x := range ts {
				got = append(got, x.Labels["pod"]+"="+x.Health)
			}
			slices.Sort(got)
			var w []string
			for _, p := range want {
				w = append(w, p+"=up")
			}
			if err == nil && slices.Equal(got, w) {
				return
			}
			time.Sleep(250 * time.Millisecond)
		}
		t.Fatalf("Prometheus's ginstarter targets are %v after %s, want %v all up", got, timeout, want)
	}
	pods := d.settled(time.Minute)
	start := time.Now()
	targetsAre(names(pods), time.Minute)
	t.Logf("Prometheus (kubernetes_sd_configs role pod, the shipped relabelling) found %d targets, all up, %.1fs after its start", len(pods), time.Since(start).Seconds())
	waitQuery := func(q string, want float64, timeout time.Duration) time.Duration {
		t.Helper()
		start := time.Now()
		var got []Sample
		for time.Since(start) < timeout {
			got, err = Query(base, q)
			if err == nil && len(got) == 1 && got[0].Value == want {
				return time.Since(start)
			}
			time.Sleep(200 * time.Millisecond)
		}
		t.Fatalf("%s = %v (%v) after %s, want %v", q, got, err, timeout, want)
		return 0
	}
	ups, err := Query(base, `up{job="ginstarter"}`)
	if err != nil || len(ups) != len(pods) {
		t.Fatalf("up: %v %v, want one series per pod", ups, err)
	}
	for _, s := range ups {
		if s.Value != 1 || s.Labels["namespace"] != namespace || !slices.Contains(names(pods), s.Labels["pod"]) {
			t.Errorf("up %v = %v, want 1 with namespace %s and one of the pods", s.Labels, s.Value, namespace)
		}
	}

	// The in-flight gauge follows requests held in the demo sleep endpoint.
	const held = 6
	active := `sum(http_server_active_requests{job="ginstarter", http_route="/v1/demo/sleep"}) or vector(0)`
	waitQuery(active, 0, 10*time.Second)
	var wg sync.WaitGroup
	errs := make(chan error, held)
	for range held {
		wg.Go(func() {
			if _, err := httpGet(d.ctx, "http://"+d.ip+":8080/v1/demo/sleep?d=4s"); err != nil {
				errs <- err
			}
		})
	}
	rise := waitQuery(active, held, 4*time.Second)
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Errorf("held request: %v", err)
	}
	fall := waitQuery(active, 0, 10*time.Second)
	t.Logf("http_server_active_requests: 0, then %d while %d requests slept (seen %.1fs after they started), 0 again %.1fs after they ended", held, held, rise.Seconds(), fall.Seconds())

	// A rollout: the old pods' targets leave, the new ones join.
	old := names(pods)
	d.kubectl("rollout", "restart", "-n", namespace, "deployment/ginstarter")
	start = time.Now()
	fresh := names(d.settled(3*time.Minute, old...))
	settledAfter := time.Since(start)
	targetsAre(fresh, 30*time.Second)
	t.Logf("rollout: targets %v -> %v; the rollout settled in %.1fs and the targets followed within %.1fs of it", old, fresh, settledAfter.Seconds(), (time.Since(start) - settledAfter).Seconds())

	// The ServiceMonitor, for a Prometheus Operator: its selectors and port
	// names against the live Service and pods.
	var sm ServiceMonitor
	var svc Service
	if err := json.Unmarshal([]byte(d.kubectl("get", "servicemonitor", "ginstarter", "-n", namespace, "-o", "json")), &sm); err != nil {
		t.Fatal(err)
	}
	if err := json.Unmarshal([]byte(d.kubectl("get", "service", "ginstarter", "-n", namespace, "-o", "json")), &svc); err != nil {
		t.Fatal(err)
	}
	live := d.pods()
	if err := CheckServiceMonitor(sm, svc, live, "ginstarter"); err != nil {
		t.Error(err)
	} else {
		t.Logf("ServiceMonitor %s: selector %v matches Service %s, endpoint port %q is its port to the pods' %q container port, job=ginstarter",
			sm.Metadata.Name, sm.Spec.Selector.MatchLabels, svc.Metadata.Name, sm.Spec.Endpoints[0].Port, "metrics")
	}
	// And the same check refuses a ServiceMonitor that selects nothing.
	broken := sm
	broken.Spec.Selector.MatchLabels = map[string]string{"app.kubernetes.io/name": "other"}
	if CheckServiceMonitor(broken, svc, live, "ginstarter") == nil {
		t.Error("CheckServiceMonitor accepted a selector that matches no Service")
	}
}

func tail(s string, n int) string {
	l := strings.Split(strings.TrimRight(s, "\n"), "\n")
	if len(l) > n {
		l = l[len(l)-n:]
	}
	return strings.Join(l, "\n")
}
