package controllers_test

import (
	"bytes"
	"encoding/json"
	"mime"
	"net/http"
	"net/http/httptest"
	"testing"

	"github.com/gin-gonic/gin"

	"github.com/ginstarter/ginstarter/apierror"
)

// newEngine returns a bare gin engine in test mode with the routes that
// register adds; no middleware runs unless register adds it.
func newEngine(tb testing.TB, register func(e *gin.Engine)) *gin.Engine {
	tb.Helper()
	gin.SetMode(gin.TestMode)
	e := gin.New()
	register(e)
	return e
}

// serve sends req to h and returns the recorded response.
func serve(tb testing.TB, h http.Handler, req *http.Request) *httptest.ResponseRecorder {
	tb.Helper()
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, req)
	return rec
}

// decodeJSON checks that rec holds a JSON body and decodes it into a T,
// failing on any field that T does not have.
func decodeJSON[T any](tb testing.TB, rec *httptest.ResponseRecorder) T {
	tb.Helper()
	var v T
	if mt, _, _ := mime.ParseMediaType(rec.Header().Get("Content-Type")); mt != "application/json" {
		tb.Fatalf("Content-Type = %q, want application/json; body %q", rec.Header().Get("Content-Type"), rec.Body)
	}
	dec := json.NewDecoder(bytes.NewReader(rec.Body.Bytes()))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&v); err != nil {
		tb.Fatalf("decoding %q as %T: %v", rec.Body, v, err)
	}
	return v
}

// wantError checks that rec is the project's JSON error with the given
// status and code and a message, and returns its detail.
func wantError(tb testing.TB, rec *httptest.ResponseRecorder, status int, code apierror.Code) apierror.Detail {
	tb.Helper()
	if rec.Code != status {
		tb.Errorf("status = %d, want %d; body %q", rec.Code, status, rec.Body)
	}
	body := decodeJSON[apierror.Body](tb, rec)
	if body.Error.Code != code {
		tb.Errorf("error code = %q, want %q; body %q", body.Error.Code, code, rec.Body)
	}
	if body.Error.Message == "" {
		tb.Errorf("error without a message: %q", rec.Body)
	}
	return body.Error
}
