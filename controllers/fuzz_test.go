package controllers_test

import (
	"bytes"
	"encoding/json"
	"mime"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/ginstarter/ginstarter/apierror"
	"github.com/ginstarter/ginstarter/controllers"
	"github.com/ginstarter/ginstarter/middleware"
)

// fuzzBodyLimit is the body cap in front of CreateItem while fuzzing: small
// enough that the fuzzer reaches the 413 answers, large enough for any
// valid item.
const fuzzBodyLimit = 1 << 10

// FuzzCreateItem sends arbitrary bodies and Content-Types to POST /v1/items
// behind the body limit, as routes/ does. The answer must be JSON and either
// 201 with an item that validates and is stored, or a 4xx with the
// project's error shape and nothing stored; items_created_total counts the
// items stored. The seed corpus also lives in
// testdata/fuzz/FuzzCreateItem.
func FuzzCreateItem(f *testing.F) {
	for _, seed := range []struct{ contentType, body string }{
		{"application/json", `{"name":"widget"}`},
		{"", `{"name":"widget"}`},
		{"application/json; charset=utf-8", `{"name":"🦫 beaver"}`},
		{"text/plain", `{"name":"widget"}`},
		{"application/json", `{"name":"wid`},
		{"application/json", `{"name":"widget","colour":"red"}`},
		{"application/json", `{"name":"widget"} {"name":"again"}`},
		{"application/json", `{"name":1e400}`},
		{"application/json", `{"name":"` + strings.Repeat("é", controllers.MaxItemNameLen+1) + `"}`},
		{"application/json", `{"name":"  "}`},
		{"application/json", `{"name":null}`},
		{"application/json", `[{"name":"widget"}]`},
		{"application/json", strings.Repeat("[", 200)},
		{"application/json", ""},
		{"application/json", `{"name":"` + strings.Repeat("a", fuzzBodyLimit) + `"}`},
	} {
		f.Add(seed.contentType, []byte(seed.body))
	}
	f.Fuzz(func(t *testing.T, contentType string, body []byte) {
		h, store, reg := newItems(t, middleware.BodyLimit(fuzzBodyLimit))
		req := httptest.NewRequest(http.MethodPost, "/v1/items", bytes.NewReader(body))
		req.Header["Content-Type"] = []string{contentType}
		// An unknown length, as with chunked encoding, makes the body limit
		// bite while the handler reads rather than before it runs.
		req.ContentLength = -1
		rec := serve(t, h, req)

		if !json.Valid(rec.Body.Bytes()) {
			t.Fatalf("status %d with a body that is not JSON: %q", rec.Code, rec.Body)
		}
		if mt, _, _ := mime.ParseMediaType(rec.Header().Get("Content-Type")); mt != "application/json" {
			t.Errorf("status %d with Content-Type %q, want application/json", rec.Code, rec.Header().Get("Content-Type"))
		}
		if rec.Code == http.StatusCreated {
			checkCreated(t, store, rec, contentType, body)
		} else {
			checkRejected(t, store, rec, body)
		}
		wantCreated(t, reg, len(store.List()))
	})
}

// checkCreated checks that rec is a 201 for a JSON body within the limit,
// whose item validates, carries the name in body and is the one item in
// store.
func checkCreated(tb testing.TB, store *controllers.MemoryItems, rec *httptest.ResponseRecorder, contentType string, body []byte) {
	tb.Helper()
	if mt, _, err := mime.ParseMediaType(contentType); contentType != "" && (err != nil || mt != "application/json") {
		tb.Errorf("201 for a body sent as %q", contentType)
	}
	if len(body) > fuzzBodyLimit {
		tb.Errorf("201 for a body of %d bytes, over the limit of %d", len(body), fuzzBodyLimit)
	}
	got := decodeJSON[controllers.Item](tb, rec)
	if fields := (controllers.ItemInput{Name: &got.Name}).Validate(); fields != nil {
		tb.Errorf("created %+v, whose name does not validate: %v", got, fields)
	}
	var in controllers.ItemInput
	if err := json.Unmarshal(body, &in); err != nil || in.Name == nil || *in.Name != got.Name {
		tb.Errorf("created %+v from body %q, which encoding/json reads as %+v, %v", got, body, in, err)
	}
	wantItems(tb, store, got)
	if loc := rec.Header().Get("Location"); loc != "/v1/items/"+got.ID || !itemID.MatchString(got.ID) {
		tb.Errorf("created id %q with Location %q", got.ID, loc)
	}
}

// checkRejected checks that rec is a 4xx with the project's JSON error whose
// code maps to that status, and that nothing was stored.
func checkRejected(tb testing.TB, store *controllers.MemoryItems, rec *httptest.ResponseRecorder, body []byte) {
	tb.Helper()
	if rec.Code < 400 || rec.Code > 499 {
		tb.Fatalf("status %d for body %q, want 201 or a 4xx; answer %q", rec.Code, body, rec.Body)
	}
	var e apierror.Body
	dec := json.NewDecoder(bytes.NewReader(rec.Body.Bytes()))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&e); err != nil {
		tb.Fatalf("status %d with a body that is not the JSON error: %q: %v", rec.Code, rec.Body, err)
	}
	if e.Error.Code.Status() != rec.Code || e.Error.Message == "" {
		tb.Errorf("status %d with error %+v, want a code that maps to the status and a message", rec.Code, e.Error)
	}
	if e.Error.Code == apierror.CodeValidation && len(e.Error.Fields) == 0 {
		tb.Errorf("validation error without the fields at fault: %q", rec.Body)
	}
	if n := len(store.List()); n != 0 {
		tb.Errorf("status %d but the store holds %d items", rec.Code, n)
	}
}
