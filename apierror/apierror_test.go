package apierror_test

import (
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"testing"

	"github.com/gin-gonic/gin"

	"github.com/ginstarter/ginstarter/apierror"
)

func TestCodeStatus(t *testing.T) {
	tests := []struct {
		code apierror.Code
		want int
	}{
		{apierror.CodeBadRequest, http.StatusBadRequest},
		{apierror.CodeValidation, http.StatusBadRequest},
		{apierror.CodeNotFound, http.StatusNotFound},
		{apierror.CodeMethodNotAllowed, http.StatusMethodNotAllowed},
		{apierror.CodeBodyTooLarge, http.StatusRequestEntityTooLarge},
		{apierror.CodeUnsupportedMedia, http.StatusUnsupportedMediaType},
		{apierror.CodeInternal, http.StatusInternalServerError},
		{apierror.CodeUnavailable, http.StatusServiceUnavailable},
		{apierror.CodeOverloaded, http.StatusServiceUnavailable},
		{apierror.Code("made_up"), http.StatusInternalServerError},
	}
	for _, tt := range tests {
		t.Run(string(tt.code), func(t *testing.T) {
			if got := tt.code.Status(); got != tt.want {
				t.Errorf("Status() = %d, want %d", got, tt.want)
			}
		})
	}
}

func TestAbort(t *testing.T) {
	gin.SetMode(gin.TestMode)
	rec := httptest.NewRecorder()
	c, _ := gin.CreateTestContext(rec)
	c.Request = httptest.NewRequest(http.MethodPost, "/", nil)
	c.Writer.Header()[apierror.RequestIDHeader] = []string{"req-1"}
	e := apierror.New(apierror.CodeValidation, "the item is not valid")
	e.Fields = []apierror.FieldError{{Field: "name", Message: "is required"}}
	apierror.Abort(c, e)

	if rec.Code != http.StatusBadRequest || !c.IsAborted() {
		t.Fatalf("status %d, aborted %v; want 400 and aborted", rec.Code, c.IsAborted())
	}
	want := `{"error":{"code":"validation_failed","message":"the item is not valid","request_id":"req-1","fields":[{"field":"name","message":"is required"}]}}`
	if got := rec.Body.String(); got != want {
		t.Errorf("body = %s\nwant   %s", got, want)
	}
	var body apierror.Body
	if err := json.Unmarshal(rec.Body.Bytes(), &body); err != nil {
		t.Fatal(err)
	}
}

func TestAbortAfterWriteOnlyAborts(t *testing.T) {
	rec := httptest.NewRecorder()
	c, _ := gin.CreateTestContext(rec)
	c.Request = httptest.NewRequest(http.MethodGet, "/", nil)
	c.String(http.StatusOK, "partial")
	apierror.Abort(c, apierror.New(apierror.CodeInternal, "late"))
	if rec.Code != http.StatusOK || rec.Body.String() != "partial" || !c.IsAborted() {
		t.Errorf("status %d body %q aborted %v; want the first answer untouched and the chain aborted", rec.Code, rec.Body, c.IsAborted())
	}
}
