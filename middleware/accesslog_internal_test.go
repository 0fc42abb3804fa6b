package middleware

import (
	"bytes"
	"errors"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"testing"
	"time"

	"github.com/gin-gonic/gin"

	"github.com/ginstarter/ginstarter/logging"
)

// TestWriteLineMatchesSlog holds the encoded access line to the line that
// slog's JSON handler writes for the same request, byte for byte.
func TestWriteLineMatchesSlog(t *testing.T) {
	start := time.Date(2026, 12, 3, 21, 31, 47, 123456789, time.UTC)
	for _, tt := range []struct {
		name, method, target, id string
		level                    slog.Level
		status                   int
		body                     string
		errs                     []error
	}{
		{name: "ok", method: http.MethodGet, target: "/v1/items/42", id: "abc-1", level: slog.LevelInfo, status: 200, body: `{"id":"42"}`},
		{name: "nothing written", method: http.MethodDelete, target: "/v1/items/42", id: "abc-2", level: slog.LevelInfo, status: 204},
		{name: "probe", method: http.MethodGet, target: "/healthz", id: "abc-3", level: slog.LevelDebug, status: 200, body: "ok"},
		{name: "odd path and id", method: "PATCH", target: "/v1/%22quoted%22/%E2%80%A8/%FF", id: `a"b\c`, level: slog.LevelInfo, status: 404},
		{name: "errors", method: http.MethodPost, target: "/v1/items", id: "abc-4", level: slog.LevelInfo, status: 500,
			errs: []error{errors.New("first\nline"), errors.New(`second "quoted"`)}},
	} {
		t.Run(tt.name, func(t *testing.T) {
			c, _ := gin.CreateTestContext(httptest.NewRecorder())
			c.Request = httptest.NewRequest(tt.method, tt.target, nil)
			c.Request.RemoteAddr = "192.0.2.7:40000"
			c.Writer.Header().Set("X-Request-ID", tt.id)
			c.Status(tt.status)
			if tt.body != "" {
				_, _ = c.Writer.WriteString(tt.body)
			}
			for _, err := range tt.errs {
				_ = c.Error(err)
			}
			const d = 1234567 * time.Nanosecond

			var direct, viaSlog bytes.Buffer
			writeLine(logging.NewOutput(&direct, 0), tt.level, c, start, d)
			logRequest(slog.NewJSONHandler(&viaSlog, &slog.HandlerOptions{Level: slog.LevelDebug}), tt.level, c, start, d)
			if !bytes.Equal(direct.Bytes(), viaSlog.Bytes()) {
				t.Errorf("\ndirect %s\n  slog %s", direct.Bytes(), viaSlog.Bytes())
			}
		})
	}
}
