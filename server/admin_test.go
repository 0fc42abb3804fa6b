package server_test

import (
	"bytes"
	"net/http"
	"os"
	"strconv"
	"testing"
)

// TestPprofOnlyOnTheAdminListener: PPROF_ENABLED serves net/http/pprof on
// the admin listener and nowhere else; the public listener answers its
// paths, and /metrics, with the JSON 404 either way.
func TestPprofOnlyOnTheAdminListener(t *testing.T) {
	t.Parallel()
	for _, enabled := range []bool{false, true} {
		t.Run("PPROF_ENABLED="+strconv.FormatBool(enabled), func(t *testing.T) {
			t.Parallel()
			svc := startService(t, map[string]string{"PPROF_ENABLED": strconv.FormatBool(enabled)})
			c := newClient(t)
			admin := "http://" + svc.Admin

			status, index := get(t, c, admin+"/debug/pprof/")
			status2, cmdline := get(t, c, admin+"/debug/pprof/cmdline")
			switch {
			case !enabled:
				if status != http.StatusNotFound || status2 != http.StatusNotFound {
					t.Errorf("admin /debug/pprof/ and /cmdline: status %d and %d, want 404 with pprof off", status, status2)
				}
			case status != http.StatusOK || !bytes.Contains(index, []byte("goroutine")):
				t.Errorf("admin /debug/pprof/: status %d, want 200 and the list of profiles; body %.200s", status, index)
			case status2 != http.StatusOK || !bytes.HasPrefix(cmdline, []byte(os.Args[0])):
				t.Errorf("admin /debug/pprof/cmdline: status %d, body %q; want 200 and this process's command line", status2, cmdline)
			}

			for _, path := range []string{"/metrics", "/debug/pprof/", "/debug/pprof/cmdline"} {
				resp, body := do(t, c, http.MethodGet, svc.URL(path), nil, nil)
				checkError(t, resp, body, http.StatusNotFound, "not_found")
			}
		})
	}
}
