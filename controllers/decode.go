package controllers

import (
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"mime"
	"net/http"
	"strings"

	"github.com/gin-gonic/gin"

	"github.com/ginstarter/ginstarter/apierror"
)

// decodeJSON decodes the request body of c into dst. It accepts exactly one
// JSON object with no unknown fields, sent as application/json, and returns
// an *apierror.Error that says what is wrong otherwise.
func decodeJSON(c *gin.Context, dst any) *apierror.Error {
	if ct := c.GetHeader("Content-Type"); ct != "" {
		if mt, _, err := mime.ParseMediaType(ct); err != nil || mt != "application/json" {
			return apierror.New(apierror.CodeUnsupportedMedia, "Content-Type must be application/json")
		}
	}
	dec := json.NewDecoder(c.Request.Body)
	dec.DisallowUnknownFields()
	if err := dec.Decode(dst); err != nil {
		return decodeError(err)
	}
	if err := dec.Decode(&struct{}{}); !errors.Is(err, io.EOF) {
		if tooLarge, ok := errors.AsType[*http.MaxBytesError](err); ok {
			return apierror.BodyTooLarge(tooLarge.Limit)
		}
		return apierror.New(apierror.CodeBadRequest, "request body must hold a single JSON object")
	}
	return nil
}

// decodeError turns an encoding/json error into a message for the client
// that names the position or field at fault.
func decodeError(err error) *apierror.Error {
	var (
		syntax    *json.SyntaxError
		typeErr   *json.UnmarshalTypeError
		tooLarge  *http.MaxBytesError
		badClient = func(msg string) *apierror.Error { return apierror.New(apierror.CodeBadRequest, msg) }
	)
	switch {
	case errors.As(err, &tooLarge):
		return apierror.BodyTooLarge(tooLarge.Limit)
	case errors.As(err, &syntax):
		return badClient(fmt.Sprintf("malformed JSON at byte %d", syntax.Offset))
	case errors.Is(err, io.ErrUnexpectedEOF):
		return badClient("malformed JSON: the body ends too early")
	case errors.Is(err, io.EOF):
		return badClient("request body must not be empty")
	case errors.As(err, &typeErr) && typeErr.Field == "":
		// The body is valid JSON but not an object (an array, a string...);
		// typeErr.Type would name the Go type, which the client must not see.
		return badClient("request body must be a JSON object")
	case errors.As(err, &typeErr):
		e := badClient(fmt.Sprintf("field %q must be a JSON %s", typeErr.Field, typeErr.Type))
		e.Fields = []apierror.FieldError{{Field: typeErr.Field, Message: "must be a JSON " + typeErr.Type.String()}}
		return e
	case strings.HasPrefix(err.Error(), unknownFieldPrefix):
		return badClient(strings.TrimPrefix(err.Error(), "json: "))
	default:
		return badClient("request body is not a valid JSON object")
	}
}

// unknownFieldPrefix starts the error that DisallowUnknownFields causes;
// encoding/json has no type for it, only its text.
const unknownFieldPrefix = "json: unknown field "
