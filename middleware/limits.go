package middleware

import (
	"net/http"

	"github.com/gin-gonic/gin"

	"github.com/ginstarter/ginstarter/apierror"
)

// BodyLimit returns a middleware that caps request bodies at maxBytes. A
// request that declares a longer body is answered with 413 at once; a body
// that turns out longer while it is read makes the read fail with
// *http.MaxBytesError, which handlers answer with 413 (see
// apierror.CodeBodyTooLarge).
func BodyLimit(maxBytes int64) gin.HandlerFunc {
	return func(c *gin.Context) {
		if c.Request.ContentLength > maxBytes {
			apierror.Abort(c, apierror.BodyTooLarge(maxBytes))
			return
		}
		if c.Request.Body != nil && c.Request.Body != http.NoBody {
			c.Request.Body = http.MaxBytesReader(c.Writer, c.Request.Body, maxBytes)
		}
		c.Next()
	}
}
