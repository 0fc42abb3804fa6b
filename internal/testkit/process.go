package testkit

import (
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"syscall"
	"testing"
	"time"
)

// WaitLimit bounds every wait for a process: for its "serving" log line,
// for its exit. It only fails a test that hangs; it measures nothing.
const WaitLimit = 20 * time.Second

// Process is a command that a test started. It is stopped when the test
// ends, if it is still running.
type Process struct {
	// HTTP and Admin are the host:port of the service's public and admin
	// listeners, once WaitServing has read them from its log.
	HTTP, Admin string
	// Stdout and Stderr hold what the process wrote.
	Stdout, Stderr *LogBuffer

	cmd  *exec.Cmd
	done chan struct{} // closed when the process has exited
	err  error         // what cmd.Wait returned; read after done is closed
}

// StartProcess starts cmd with its output in the Process's Stdout and
// Stderr. When the test ends, a process still running is stopped (see
// Stop), and a test that failed logs the process's output.
func StartProcess(tb testing.TB, cmd *exec.Cmd) *Process {
	tb.Helper()
	p := &Process{Stdout: new(LogBuffer), Stderr: new(LogBuffer), cmd: cmd, done: make(chan struct{})}
	cmd.Stdout, cmd.Stderr = p.Stdout, p.Stderr
	if err := cmd.Start(); err != nil {
		tb.Fatalf("starting %s: %v", cmd.Path, err)
	}
	go func() {
		defer close(p.done)
		p.err = cmd.Wait()
	}()
	tb.Cleanup(func() {
		if !p.Exited() {
			if err := p.Stop(); err != nil {
				tb.Errorf("%s, stopped at the end of the test: %v", p, err)
			}
		}
		if tb.Failed() {
			tb.Logf("%s (pid %d) wrote to stdout:\n%s\nand to stderr:\n%s", p, p.cmd.Process.Pid, p.Stdout, p.Stderr)
		}
	})
	return p
}

// LaunchService starts the service's binary (see ServiceBinary) in dir, or
// in a new empty directory when dir is "", so that it reads no .env unless
// the test wrote one there. Its environment is only env after loopback
// addresses for both listeners on ports the kernel chooses, so that no
// variable of the test's own environment changes its configuration. It
// does not wait for the service to serve: see WaitServing.
func LaunchService(tb testing.TB, dir string, env ...string) *Process {
	tb.Helper()
	// Not tied to a context: the test's own ends before its cleanups, which
	// stop the process with SIGTERM and then read its output.
	cmd := exec.Command(ServiceBinary(tb)) //nolint:gosec,noctx // G204: the binary that ServiceBinary built
	cmd.Dir = dir
	if dir == "" {
		cmd.Dir = tb.TempDir()
	}
	cmd.Env = append([]string{"HTTP_ADDR=127.0.0.1:0", "ADMIN_ADDR=127.0.0.1:0"}, env...)
	return StartProcess(tb, cmd)
}

// StartService is LaunchService followed by WaitServing.
func StartService(tb testing.TB, dir string, env ...string) *Process {
	tb.Helper()
	p := LaunchService(tb, dir, env...)
	p.WaitServing(tb)
	return p
}

// WaitServing waits for the service's "serving" log line on stdout and
// records the addresses it names in HTTP and Admin.
func (p *Process) WaitServing(tb testing.TB) {
	tb.Helper()
	p.HTTP, p.Admin = WaitServing(tb, p.Stdout, p.done)
}

// WaitServing waits for the "serving" log line in logs and returns the
// addresses it names. It fails tb when done is closed first (the service
// ended) or after WaitLimit.
func WaitServing(tb testing.TB, logs *LogBuffer, done <-chan struct{}) (httpAddr, adminAddr string) {
	tb.Helper()
	Until(tb, "the serving log line", WaitLimit, 10*time.Millisecond, func() (bool, string) {
		if l, ok := logs.Find("serving"); ok {
			httpAddr, adminAddr = l.Get("http_addr"), l.Get("admin_addr")
			return true, ""
		}
		select {
		case <-done:
			tb.Fatalf("the service ended before serving; its log:\n%s", logs)
		default:
		}
		return false, "log so far:\n" + logs.String()
	})
	return httpAddr, adminAddr
}

// URL returns the address of path on the service's public listener.
func (p *Process) URL(path string) string { return "http://" + p.HTTP + path }

// Signal sends sig to the process.
func (p *Process) Signal(tb testing.TB, sig os.Signal) {
	tb.Helper()
	if err := p.cmd.Process.Signal(sig); err != nil {
		tb.Fatalf("sending %v to %s: %v", sig, p, err)
	}
}

// Wait waits for the process to exit and returns its state. It fails tb
// when the process has not exited within WaitLimit.
func (p *Process) Wait(tb testing.TB) *os.ProcessState {
	tb.Helper()
	select {
	case <-p.done:
		return p.cmd.ProcessState
	case <-time.After(WaitLimit):
		tb.Fatalf("%s did not exit within %v", p, WaitLimit)
		return nil
	}
}

// Done returns a channel that is closed when the process has exited.
func (p *Process) Done() <-chan struct{} { return p.done }

// Exited reports whether the process has exited.
func (p *Process) Exited() bool {
	select {
	case <-p.done:
		return true
	default:
		return false
	}
}

// Stop sends SIGTERM to the process and waits for it to exit, and kills it
// when it has not exited within WaitLimit. It returns nil when the process
// exited with status 0, and otherwise says how it ended.
func (p *Process) Stop() error {
	_ = p.cmd.Process.Signal(syscall.SIGTERM) // it may have exited already
	select {
	case <-p.done:
		return p.err
	case <-time.After(WaitLimit):
	}
	_ = p.cmd.Process.Kill()
	<-p.done
	return fmt.Errorf("not exited within %v of SIGTERM; killed", WaitLimit)
}

// String names the process by its program.
func (p *Process) String() string { return filepath.Base(p.cmd.Path) }
