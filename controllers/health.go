// Package controllers holds the HTTP handlers, one file per resource. Each
// constructor takes the dependencies its handler uses and returns a
// gin.HandlerFunc; none keeps package-level state.
package controllers

import (
	"net/http"

	"github.com/gin-gonic/gin"

	"github.com/ginstarter/ginstarter/apierror"
	"github.com/ginstarter/ginstarter/buildinfo"
)

// status is the body of the health endpoints.
type status struct {
	Status string `json:"status"`
}

// Live answers the liveness probe: 200 for as long as the process serves.
func Live() gin.HandlerFunc {
	return func(c *gin.Context) {
		c.JSON(http.StatusOK, status{Status: "ok"})
	}
}

// Ready answers the readiness probe: 200 while ready reports true, and 503
// with the JSON error once shutdown has begun.
func Ready(ready func() bool) gin.HandlerFunc {
	return func(c *gin.Context) {
		if !ready() {
			apierror.Abort(c, apierror.New(apierror.CodeUnavailable, "not ready: shutting down"))
			return
		}
		c.JSON(http.StatusOK, status{Status: "ready"})
	}
}

// Version answers with the build's version, revision and Go version.
func Version(info buildinfo.Info) gin.HandlerFunc {
	return func(c *gin.Context) {
		c.JSON(http.StatusOK, info)
	}
}
