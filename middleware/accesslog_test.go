package middleware_test

import (
	"bufio"
	"encoding/json"
	"net/http"
	"strings"
	"testing"

	"github.com/gin-gonic/gin"
)

// logLines returns the "request" lines the stack logged.
func logLines(tb testing.TB, s *stack) []map[string]any {
	tb.Helper()
	var out []map[string]any
	sc := bufio.NewScanner(strings.NewReader(s.log.String()))
	for sc.Scan() {
		var line map[string]any
		if err := json.Unmarshal(sc.Bytes(), &line); err != nil {
			tb.Fatalf("log line is not JSON: %q", sc.Text())
		}
		if line["msg"] == "request" {
			out = append(out, line)
		}
	}
	return out
}

func TestAccessLog(t *testing.T) {
	tests := []struct {
		name, method, path string
		wantLevel          string
		wantStatus         float64
		wantBytes          float64
	}{
		{"ok", http.MethodGet, "/users/7", "INFO", 200, 2},
		{"no body", http.MethodDelete, "/users/7", "INFO", 204, 0},
		{"head", http.MethodHead, "/users/7", "INFO", 200, 0},
		{"probe at debug", http.MethodGet, "/healthz", "DEBUG", 200, 2},
		{"unmatched", http.MethodGet, "/nope", "INFO", 404, -1},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s := newStack(t)
			ok := func(c *gin.Context) { c.String(http.StatusOK, "ok") }
			s.engine.GET("/users/:id", ok)
			s.engine.GET("/healthz", ok)
			s.engine.HEAD("/users/:id", func(c *gin.Context) { c.Status(http.StatusOK) })
			s.engine.DELETE("/users/:id", func(c *gin.Context) { c.Status(http.StatusNoContent) })
			rec := s.do(t, tt.method, tt.path)
			lines := logLines(t, s)
			if len(lines) != 1 {
				t.Fatalf("logged %d request lines, want 1", len(lines))
			}
			l := lines[0]
			if l["level"] != tt.wantLevel || l["status"] != tt.wantStatus || l["path"] != tt.path || l["method"] != tt.method {
				t.Errorf("line = %v, want level %s status %v", l, tt.wantLevel, tt.wantStatus)
			}
			if l["request_id"] != rec.Header().Get("X-Request-ID") {
				t.Errorf("request_id = %v, want %q", l["request_id"], rec.Header().Get("X-Request-ID"))
			}
			if b, _ := l["bytes"].(float64); b < 0 || (tt.wantBytes >= 0 && b != tt.wantBytes) {
				t.Errorf("bytes = %v, want %v (never negative)", l["bytes"], tt.wantBytes)
			}
		})
	}
}
