package controllers

import (
	"net/http"
	"time"

	"github.com/gin-gonic/gin"

	"github.com/ginstarter/ginstarter/apierror"
)

// MaxDemoSleep is the cap on DemoSleep's wait that the service uses.
const MaxDemoSleep = 30 * time.Second

// DemoPanic panics, so that the panic counter and the recovery path can be
// watched. It is routed only when DEMO_ENDPOINTS is true.
func DemoPanic() gin.HandlerFunc {
	return func(*gin.Context) {
		panic("demo panic: this handler always panics")
	}
}

// sleepResult is the body of a finished DemoSleep.
type sleepResult struct {
	Slept string `json:"slept"`
}

// DemoSleep waits for the duration in the d query parameter (a Go duration,
// capped at limit) and then answers 200, so that the in-flight gauge can be
// watched. It stops early when the client goes away.
func DemoSleep(limit time.Duration) gin.HandlerFunc {
	return func(c *gin.Context) {
		d, err := time.ParseDuration(c.DefaultQuery("d", "1s"))
		if err != nil || d < 0 {
			e := apierror.New(apierror.CodeValidation, "d must be a non-negative Go duration such as 250ms or 2s")
			e.Fields = []apierror.FieldError{{Field: "d", Message: "must be a non-negative Go duration"}}
			apierror.Abort(c, e)
			return
		}
		d = min(d, limit)
		t := time.NewTimer(d)
		defer t.Stop()
		select {
		case <-t.C:
			c.JSON(http.StatusOK, sleepResult{Slept: d.String()})
		case <-c.Request.Context().Done():
			// The client is gone; the metrics middleware records 499.
		}
	}
}
