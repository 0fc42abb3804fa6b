// Package middleware provides the gin.HandlerFunc constructors of the
// request path: request IDs, access logs, metrics, panic recovery and
// limits. Each constructor keeps its state in the closure it returns, so any
// number of engines can be built in one process.
package middleware

import (
	"crypto/rand"
	"encoding/hex"
	"strconv"
	"sync/atomic"

	"github.com/gin-gonic/gin"

	"github.com/ginstarter/ginstarter/apierror"
)

// MaxRequestIDLen is the longest client-supplied request ID that is kept;
// a longer one is replaced by a generated ID.
const MaxRequestIDLen = 128

// RequestID returns a middleware that gives every request an ID: the
// client's X-Request-ID when it is short and printable ASCII, a new one
// otherwise. The ID is set on the response header before the rest of the
// chain runs, where error responses and logs read it.
func RequestID() gin.HandlerFunc {
	var ids idGenerator
	ids.init()
	return func(c *gin.Context) {
		var id string
		if v := c.Request.Header[apierror.RequestIDHeader]; len(v) > 0 && validRequestID(v[0]) {
			id = v[0]
		} else {
			id = ids.next()
		}
		c.Writer.Header()[apierror.RequestIDHeader] = []string{id}
		c.Next()
	}
}

// RequestIDOf returns the request ID that RequestID gave the request in c.
func RequestIDOf(c *gin.Context) string {
	return apierror.RequestID(c)
}

// validRequestID reports whether id may be echoed into headers and logs:
// 1 to MaxRequestIDLen characters, each printable ASCII other than space.
func validRequestID(id string) bool {
	if len(id) == 0 || len(id) > MaxRequestIDLen {
		return false
	}
	for i := range len(id) {
		if id[i] <= ' ' || id[i] > '~' {
			return false
		}
	}
	return true
}

// idGenerator makes IDs unique across processes (a random prefix drawn once)
// and within the process (a counter), without a random read per request.
type idGenerator struct {
	prefix string
	n      atomic.Uint64
}

func (g *idGenerator) init() {
	var b [8]byte
	_, _ = rand.Read(b[:]) // crypto/rand.Read never returns an error since Go 1.24.
	g.prefix = hex.EncodeToString(b[:]) + "-"
}

func (g *idGenerator) next() string {
	var buf [40]byte
	b := append(buf[:0], g.prefix...)
	b = strconv.AppendUint(b, g.n.Add(1), 36)
	return string(b)
}
