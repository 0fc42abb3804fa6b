// Package apierror defines the one JSON error shape that every error
// response of the service uses, and the table that maps each error code to
// its HTTP status.
package apierror

import (
	"net/http"
	"strconv"

	"github.com/gin-gonic/gin"
)

// RequestIDHeader is the header that carries the request ID (X-Request-ID),
// in the canonical form of http.CanonicalHeaderKey so that it can index an
// http.Header directly. The request ID middleware sets it on the response
// before any handler runs, which is how error responses find it without a
// dependency on the middleware.
const RequestIDHeader = "X-Request-Id"

// Code is a stable, machine-readable error code. Clients may switch on it;
// messages may change between versions, codes do not.
type Code string

// The error codes of the service. Each maps to exactly one HTTP status.
const (
	CodeBadRequest       Code = "bad_request"
	CodeValidation       Code = "validation_failed"
	CodeNotFound         Code = "not_found"
	CodeMethodNotAllowed Code = "method_not_allowed"
	CodeBodyTooLarge     Code = "body_too_large"
	CodeUnsupportedMedia Code = "unsupported_media_type"
	CodeClientClosed     Code = "client_closed_request"
	CodeInternal         Code = "internal_error"
	CodeUnavailable      Code = "unavailable"
	CodeOverloaded       Code = "overloaded"
	CodeHeadersTooLarge  Code = "headers_too_large"
	CodeRequestTimeout   Code = "request_timeout"
)

// StatusClientClosedRequest is the non-standard status (nginx's 499) under
// which a request is recorded when its client went away before the answer.
// It never reaches the client, which is gone.
const StatusClientClosedRequest = 499

// statuses is the one table from error code to HTTP status.
var statuses = map[Code]int{
	CodeBadRequest:       http.StatusBadRequest,
	CodeValidation:       http.StatusBadRequest,
	CodeNotFound:         http.StatusNotFound,
	CodeMethodNotAllowed: http.StatusMethodNotAllowed,
	CodeRequestTimeout:   http.StatusRequestTimeout,
	CodeBodyTooLarge:     http.StatusRequestEntityTooLarge,
	CodeUnsupportedMedia: http.StatusUnsupportedMediaType,
	CodeHeadersTooLarge:  http.StatusRequestHeaderFieldsTooLarge,
	CodeClientClosed:     StatusClientClosedRequest,
	CodeInternal:         http.StatusInternalServerError,
	CodeUnavailable:      http.StatusServiceUnavailable,
	CodeOverloaded:       http.StatusServiceUnavailable,
}

// Status returns the HTTP status for code, and 500 for a code the table
// does not know, so that a mistake never turns into a success status.
func (code Code) Status() int {
	if s, ok := statuses[code]; ok {
		return s
	}
	return http.StatusInternalServerError
}

// FieldError names one input field at fault and why.
type FieldError struct {
	Field   string `json:"field"`
	Message string `json:"message"`
}

// Error is an error that a handler answers with. Its message is shown to
// the client, so it must never carry internal details.
type Error struct {
	Code    Code
	Message string
	Fields  []FieldError
}

// New returns an Error with the given code and client-facing message.
func New(code Code, message string) *Error {
	return &Error{Code: code, Message: message}
}

// BodyTooLarge returns the error for a request body over limit bytes.
func BodyTooLarge(limit int64) *Error {
	return New(CodeBodyTooLarge, "request body is larger than the limit of "+strconv.FormatInt(limit, 10)+" bytes")
}

// Error implements the error interface.
func (e *Error) Error() string { return string(e.Code) + ": " + e.Message }

// Body is the JSON document of every error response.
type Body struct {
	Error Detail `json:"error"`
}

// Detail is the content of Body.
type Detail struct {
	Code      Code         `json:"code"`
	Message   string       `json:"message"`
	RequestID string       `json:"request_id,omitempty"`
	Fields    []FieldError `json:"fields,omitempty"`
}

// Abort writes e as the response and stops the handler chain. When the
// response has already been started it only aborts, since a second status
// line cannot be sent.
func Abort(c *gin.Context, e *Error) {
	if c.Writer.Written() {
		c.Abort()
		return
	}
	c.AbortWithStatusJSON(e.Code.Status(), Body{Error: Detail{
		Code:      e.Code,
		Message:   e.Message,
		RequestID: RequestID(c),
		Fields:    e.Fields,
	}})
}

// RequestID returns the request ID that the request ID middleware set on
// the response of c, or "" when there is none.
func RequestID(c *gin.Context) string {
	if v := c.Writer.Header()[RequestIDHeader]; len(v) > 0 {
		return v[0]
	}
	return ""
}
