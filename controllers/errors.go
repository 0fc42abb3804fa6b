package controllers

import (
	"github.com/gin-gonic/gin"

	"github.com/ginstarter/ginstarter/apierror"
)

// NotFound answers a request that matched no route.
func NotFound() gin.HandlerFunc {
	return func(c *gin.Context) {
		apierror.Abort(c, apierror.New(apierror.CodeNotFound, "no such endpoint"))
	}
}

// MethodNotAllowed answers a request whose path exists with other methods;
// gin has already set the Allow header.
func MethodNotAllowed() gin.HandlerFunc {
	return func(c *gin.Context) {
		apierror.Abort(c, apierror.New(apierror.CodeMethodNotAllowed, "method "+c.Request.Method+" is not allowed here"))
	}
}
