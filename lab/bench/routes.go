package bench

import (
	"bytes"
	"context"
	"io"
	"net/http"
	"net/http/httptest"

	"github.com/gin-gonic/gin"
)

// UploadSize is the body size of the POST route.
const UploadSize = 64 << 10

// Route is one request that every stack serves.
type Route struct {
	Name       string
	Method     string
	Path       string
	Body       bool // a UploadSize body
	WantStatus int
}

// Routes are the benchmarked requests: a route with a path parameter, a
// path that matches no route, and an upload whose body the handler reads.
var Routes = []Route{
	{"get-param", http.MethodGet, "/users/42", false, http.StatusOK},
	{"unmatched-404", http.MethodGet, "/nope/123", false, http.StatusNotFound},
	{"post-64KiB", http.MethodPost, "/upload", true, http.StatusOK},
}

var okBody = []byte("ok")

func ok(c *gin.Context) {
	c.Writer.WriteHeader(http.StatusOK)
	_, _ = c.Writer.Write(okBody)
}

func upload(c *gin.Context) {
	if _, err := io.Copy(io.Discard, c.Request.Body); err != nil {
		c.AbortWithStatus(http.StatusBadRequest)
		return
	}
	ok(c)
}

// AddRoutes registers the benchmarked routes on e, after its middleware.
func AddRoutes(e *gin.Engine) {
	e.GET("/users/:id", ok)
	e.POST("/upload", upload)
}

// DiscardWriter is an http.ResponseWriter that keeps nothing and allocates
// nothing per request: Header returns the same map every time.
type DiscardWriter struct{ h http.Header }

// NewDiscardWriter returns a DiscardWriter with an empty header map.
func NewDiscardWriter() *DiscardWriter { return &DiscardWriter{h: make(http.Header)} }

// Header returns the writer's one header map.
func (w *DiscardWriter) Header() http.Header { return w.h }

// Write discards b.
func (w *DiscardWriter) Write(b []byte) (int, error) { return len(b), nil }

// WriteHeader discards the status.
func (w *DiscardWriter) WriteHeader(int) {}

// body is a request body that can be rewound without allocating. It hides
// bytes.Reader's WriteTo, as a network body does: io.Copy then really
// copies the 64 KiB through io.Discard's pooled buffer, in every stack
// alike, instead of handing the whole slice to a no-op Write.
type body struct{ r bytes.Reader }

func (b *body) Read(p []byte) (int, error) { return b.r.Read(p) }

func (*body) Close() error { return nil }

// Request is a reusable request for one Route.
type Request struct {
	req     *http.Request
	body    *body
	payload []byte
}

// NewRequest builds the request of r once.
func (r Route) NewRequest() *Request {
	req := &Request{req: httptest.NewRequestWithContext(context.Background(), r.Method, r.Path, nil)}
	if r.Body {
		req.payload = bytes.Repeat([]byte("x"), UploadSize)
		req.body = &body{}
		req.req.ContentLength = UploadSize
	}
	return req
}

// Next returns the request ready to be served again: its body rewound and
// put back, since a middleware may have wrapped it (http.MaxBytesReader).
// It allocates nothing.
func (r *Request) Next() *http.Request {
	if r.body != nil {
		r.body.r.Reset(r.payload)
		r.req.Body = r.body
	}
	return r.req
}
