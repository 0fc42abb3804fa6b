package controllers_test

import (
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"net/http/httptest"
	"regexp"
	"strings"
	"sync"
	"testing"

	"github.com/gin-gonic/gin"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/testutil"

	"github.com/ginstarter/ginstarter/apierror"
	"github.com/ginstarter/ginstarter/controllers"
)

// newItems returns an engine serving the item handlers behind the
// middleware mw, registered the way routes/ registers them, with the store
// they share and the registry of their metrics.
func newItems(tb testing.TB, mw ...gin.HandlerFunc) (http.Handler, *controllers.MemoryItems, *prometheus.Registry) {
	tb.Helper()
	store := controllers.NewMemoryItems()
	reg := prometheus.NewRegistry()
	m, err := controllers.NewItemMetrics(reg)
	if err != nil {
		tb.Fatal(err)
	}
	h := newEngine(tb, func(e *gin.Engine) {
		e.Use(mw...)
		e.POST("/v1/items", controllers.CreateItem(store, m))
		e.GET("/v1/items", controllers.ListItems(store))
		e.GET("/v1/items/:id", controllers.GetItem(store))
		e.DELETE("/v1/items/:id", controllers.DeleteItem(store))
	})
	return h, store, reg
}

// wantCreated checks that reg's items_created_total is n.
func wantCreated(tb testing.TB, reg prometheus.Gatherer, n int) {
	tb.Helper()
	want := fmt.Sprintf(`# HELP items_created_total Items created by POST /v1/items.
# TYPE items_created_total counter
items_created_total %d
`, n)
	if err := testutil.GatherAndCompare(reg, strings.NewReader(want), "items_created_total"); err != nil {
		tb.Error(err)
	}
}

// postItem sends body to POST /v1/items, with contentType unless it is "".
func postItem(tb testing.TB, h http.Handler, contentType, body string) *httptest.ResponseRecorder {
	tb.Helper()
	req := httptest.NewRequest(http.MethodPost, "/v1/items", strings.NewReader(body))
	if contentType != "" {
		req.Header.Set("Content-Type", contentType)
	}
	return serve(tb, h, req)
}

// createItem creates an item named name through the handler and returns it.
func createItem(tb testing.TB, h http.Handler, name string) controllers.Item {
	tb.Helper()
	body, err := json.Marshal(map[string]string{"name": name})
	if err != nil {
		tb.Fatal(err)
	}
	rec := postItem(tb, h, "application/json", string(body))
	if rec.Code != http.StatusCreated {
		tb.Fatalf("creating %q: status %d, body %q", name, rec.Code, rec.Body)
	}
	return decodeJSON[controllers.Item](tb, rec)
}

// wantItems checks that store holds exactly want, in that order.
func wantItems(tb testing.TB, store controllers.ItemStore, want ...controllers.Item) {
	tb.Helper()
	got := store.List()
	if len(got) != len(want) {
		tb.Fatalf("store holds %d items %+v, want %d %+v", len(got), got, len(want), want)
	}
	for i := range want {
		if got[i].ID != want[i].ID || got[i].Name != want[i].Name || !got[i].CreatedAt.Equal(want[i].CreatedAt) {
			tb.Errorf("item %d = %+v, want %+v", i, got[i], want[i])
		}
	}
}

var itemID = regexp.MustCompile(`^[0-9a-f]{16}$`)

func TestCreateItem(t *testing.T) {
	tests := []struct{ name, contentType, itemName string }{
		{"plain", "application/json", "widget"},
		{"charset parameter", "application/json; charset=utf-8", "widget"},
		{"upper-case media type", "Application/JSON", "widget"},
		{"100 ASCII characters", "application/json", strings.Repeat("a", controllers.MaxItemNameLen)},
		{"100 two-byte characters", "application/json", strings.Repeat("é", controllers.MaxItemNameLen)},
		{"100 four-byte characters", "application/json", strings.Repeat("🦫", controllers.MaxItemNameLen)},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			h, store, reg := newItems(t)
			body, _ := json.Marshal(map[string]string{"name": tt.itemName})
			rec := postItem(t, h, tt.contentType, string(body))
			if rec.Code != http.StatusCreated {
				t.Fatalf("status = %d, want 201; body %q", rec.Code, rec.Body)
			}
			got := decodeJSON[controllers.Item](t, rec)
			if !itemID.MatchString(got.ID) || got.Name != tt.itemName || got.CreatedAt.IsZero() {
				t.Errorf("created %+v, want a 16-hex-digit id, name %q and a creation time", got, tt.itemName)
			}
			if loc := rec.Header().Get("Location"); loc != "/v1/items/"+got.ID {
				t.Errorf("Location = %q, want /v1/items/%s", loc, got.ID)
			}
			wantItems(t, store, got)
			wantCreated(t, reg, 1)

			again := serve(t, h, httptest.NewRequest(http.MethodGet, rec.Header().Get("Location"), nil))
			if again.Code != http.StatusOK || decodeJSON[controllers.Item](t, again) != got {
				t.Errorf("GET Location: status %d, body %q; want 200 with %+v", again.Code, again.Body, got)
			}
			wantCreated(t, reg, 1)
		})
	}
}

// TestItemMetricsRegisterOnce: the metrics go on the registry they are
// given, and a second registration there is an error at construction, not a
// panic.
func TestItemMetricsRegisterOnce(t *testing.T) {
	reg := prometheus.NewRegistry()
	if _, err := controllers.NewItemMetrics(reg); err != nil {
		t.Fatal(err)
	}
	wantCreated(t, reg, 0)
	_, err := controllers.NewItemMetrics(reg)
	if _, ok := errors.AsType[prometheus.AlreadyRegisteredError](err); !ok || !strings.Contains(err.Error(), "items_created_total") {
		t.Errorf("registering twice on one registry: error %v, want an AlreadyRegisteredError naming items_created_total", err)
	}
}

func TestGetItem(t *testing.T) {
	h, _, _ := newItems(t)
	it := createItem(t, h, "widget")
	tests := []struct {
		name, id string
		status   int
	}{
		{"existing", it.ID, http.StatusOK},
		{"unknown", "0123456789abcdef", http.StatusNotFound},
		{"upper-cased id", strings.ToUpper(it.ID), http.StatusNotFound},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			rec := serve(t, h, httptest.NewRequest(http.MethodGet, "/v1/items/"+tt.id, nil))
			if tt.status == http.StatusOK {
				if got := decodeJSON[controllers.Item](t, rec); rec.Code != tt.status || got != it {
					t.Errorf("status %d, item %+v; want 200 with %+v", rec.Code, got, it)
				}
				return
			}
			wantError(t, rec, tt.status, apierror.CodeNotFound)
		})
	}
}

func TestDeleteItem(t *testing.T) {
	h, store, reg := newItems(t)
	gone, kept := createItem(t, h, "gone"), createItem(t, h, "kept")
	tests := []struct {
		name, id string
		status   int
	}{
		{"existing", gone.ID, http.StatusNoContent},
		{"same again", gone.ID, http.StatusNotFound},
		{"unknown", "0123456789abcdef", http.StatusNotFound},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			rec := serve(t, h, httptest.NewRequest(http.MethodDelete, "/v1/items/"+tt.id, nil))
			if tt.status == http.StatusNoContent {
				if rec.Code != tt.status || rec.Body.Len() != 0 {
					t.Errorf("status %d, body %q; want 204 with no body", rec.Code, rec.Body)
				}
			} else {
				wantError(t, rec, tt.status, apierror.CodeNotFound)
			}
			wantItems(t, store, kept)
			wantCreated(t, reg, 2) // the two items made above: deleting counts nothing
		})
	}
	rec := serve(t, h, httptest.NewRequest(http.MethodGet, "/v1/items/"+gone.ID, nil))
	wantError(t, rec, http.StatusNotFound, apierror.CodeNotFound)
}

func TestListItems(t *testing.T) {
	type list struct {
		Items []controllers.Item `json:"items"`
	}
	h, _, _ := newItems(t)
	get := func(t *testing.T) list {
		t.Helper()
		rec := serve(t, h, httptest.NewRequest(http.MethodGet, "/v1/items", nil))
		if rec.Code != http.StatusOK {
			t.Fatalf("status = %d, want 200; body %q", rec.Code, rec.Body)
		}
		return decodeJSON[list](t, rec)
	}

	rec := serve(t, h, httptest.NewRequest(http.MethodGet, "/v1/items", nil))
	if got := strings.TrimSpace(rec.Body.String()); got != `{"items":[]}` {
		t.Errorf("empty list = %s, want {\"items\":[]}", got)
	}
	a, b, c := createItem(t, h, "a"), createItem(t, h, "b"), createItem(t, h, "c")
	serve(t, h, httptest.NewRequest(http.MethodDelete, "/v1/items/"+b.ID, nil))
	d := createItem(t, h, "d")

	got := get(t).Items
	want := []controllers.Item{a, c, d}
	if len(got) != len(want) {
		t.Fatalf("listed %+v, want %+v", got, want)
	}
	for i := range want {
		if got[i] != want[i] {
			t.Errorf("item %d = %+v, want %+v (creation order)", i, got[i], want[i])
		}
	}
}

// TestItemsConcurrently runs the handlers from many goroutines at once; run
// it with -race.
func TestItemsConcurrently(t *testing.T) {
	const workers = 50
	h, store, reg := newItems(t)
	var wg sync.WaitGroup
	for i := range workers {
		wg.Go(func() {
			var ids [2]string
			for j := range ids {
				rec := httptest.NewRecorder()
				body := fmt.Sprintf(`{"name":"item-%d-%d"}`, i, j)
				h.ServeHTTP(rec, httptest.NewRequest(http.MethodPost, "/v1/items", strings.NewReader(body)))
				var it controllers.Item
				if err := json.Unmarshal(rec.Body.Bytes(), &it); rec.Code != http.StatusCreated || err != nil {
					t.Errorf("create: status %d, body %q", rec.Code, rec.Body)
					return
				}
				ids[j] = it.ID
			}
			for _, step := range []struct {
				method, id string
				status     int
			}{
				{http.MethodGet, ids[0], http.StatusOK},
				{http.MethodGet, "/v1/items", http.StatusOK},
				{http.MethodDelete, ids[1], http.StatusNoContent},
				{http.MethodDelete, ids[1], http.StatusNotFound},
				{http.MethodGet, ids[1], http.StatusNotFound},
			} {
				target := step.id
				if !strings.HasPrefix(target, "/") {
					target = "/v1/items/" + target
				}
				rec := httptest.NewRecorder()
				h.ServeHTTP(rec, httptest.NewRequest(step.method, target, nil))
				if rec.Code != step.status {
					t.Errorf("%s %s: status %d, want %d", step.method, target, rec.Code, step.status)
				}
			}
		})
	}
	wg.Wait()

	items := store.List()
	ids := make(map[string]bool)
	for _, it := range items {
		ids[it.ID] = true
	}
	if len(items) != workers || len(ids) != workers {
		t.Errorf("store holds %d items with %d distinct ids, want %d of each", len(items), len(ids), workers)
	}
	wantCreated(t, reg, 2*workers)
}
