package controllers

import (
	"fmt"
	"net/http"
	"strings"
	"unicode/utf8"

	"github.com/gin-gonic/gin"
	"github.com/prometheus/client_golang/prometheus"

	"github.com/ginstarter/ginstarter/apierror"
)

// MaxItemNameLen is the longest item name, in characters.
const MaxItemNameLen = 100

// ItemStore is what the item handlers need from storage.
type ItemStore interface {
	Create(name string) Item
	Get(id string) (Item, bool)
	List() []Item
	Delete(id string) bool
}

// ItemInput is the body of POST /v1/items.
type ItemInput struct {
	Name *string `json:"name"`
}

// Validate returns the fields of in that are at fault, or nil.
func (in ItemInput) Validate() []apierror.FieldError {
	switch {
	case in.Name == nil || strings.TrimSpace(*in.Name) == "":
		return []apierror.FieldError{{Field: "name", Message: "is required"}}
	case utf8.RuneCountInString(*in.Name) > MaxItemNameLen:
		return []apierror.FieldError{{Field: "name", Message: "must be at most 100 characters"}}
	}
	return nil
}

// itemList is the body of GET /v1/items.
type itemList struct {
	Items []Item `json:"items"`
}

// ItemMetrics are the business metrics of the item resource, next to the
// request metrics that every route has.
type ItemMetrics struct {
	created prometheus.Counter
}

// NewItemMetrics returns the item metrics registered on reg, the service's
// own registry; registering them twice on one registry is an error. A nil
// reg registers them nowhere: they count, but no scrape shows them.
func NewItemMetrics(reg prometheus.Registerer) (*ItemMetrics, error) {
	m := &ItemMetrics{
		created: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "items_created_total",
			Help: "Items created by POST /v1/items.",
		}),
	}
	if reg == nil {
		return m, nil
	}
	if err := reg.Register(m.created); err != nil {
		return nil, fmt.Errorf("registering items_created_total: %w", err)
	}
	return m, nil
}

// CreateItem validates the JSON body and stores a new item: 201 with the
// item, counted in m, or 400/413/415 with the JSON error, nothing stored
// and nothing counted.
func CreateItem(store ItemStore, m *ItemMetrics) gin.HandlerFunc {
	return func(c *gin.Context) {
		var in ItemInput
		if err := decodeJSON(c, &in); err != nil {
			apierror.Abort(c, err)
			return
		}
		if fields := in.Validate(); fields != nil {
			e := apierror.New(apierror.CodeValidation, "the item is not valid")
			e.Fields = fields
			apierror.Abort(c, e)
			return
		}
		it := store.Create(*in.Name)
		m.created.Inc()
		c.Header("Location", "/v1/items/"+it.ID)
		c.JSON(http.StatusCreated, it)
	}
}

// ListItems answers with every item.
func ListItems(store ItemStore) gin.HandlerFunc {
	return func(c *gin.Context) {
		c.JSON(http.StatusOK, itemList{Items: store.List()})
	}
}

// GetItem answers with the item named by the :id parameter, or 404.
func GetItem(store ItemStore) gin.HandlerFunc {
	return func(c *gin.Context) {
		it, ok := store.Get(c.Param("id"))
		if !ok {
			apierror.Abort(c, itemNotFound())
			return
		}
		c.JSON(http.StatusOK, it)
	}
}

// DeleteItem removes the item named by the :id parameter: 204, or 404.
func DeleteItem(store ItemStore) gin.HandlerFunc {
	return func(c *gin.Context) {
		if !store.Delete(c.Param("id")) {
			apierror.Abort(c, itemNotFound())
			return
		}
		c.Status(http.StatusNoContent)
	}
}

func itemNotFound() *apierror.Error {
	return apierror.New(apierror.CodeNotFound, "no item with that id")
}
