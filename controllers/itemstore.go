package controllers

import (
	"crypto/rand"
	"encoding/hex"
	"sync"
	"time"
)

// Item is the example resource.
type Item struct {
	ID        string    `json:"id"`
	Name      string    `json:"name"`
	CreatedAt time.Time `json:"created_at"`
}

// MemoryItems is an in-memory item store, safe for concurrent use. It stands
// in for the database a real service would have.
type MemoryItems struct {
	mu    sync.RWMutex
	items map[string]Item
	order []string // IDs in creation order
	now   func() time.Time
}

// NewMemoryItems returns an empty store.
func NewMemoryItems() *MemoryItems {
	return &MemoryItems{items: make(map[string]Item), now: time.Now}
}

// Create stores a new item named name and returns it with its new ID.
func (s *MemoryItems) Create(name string) Item {
	it := Item{ID: newID(), Name: name, CreatedAt: s.now().UTC()}
	s.mu.Lock()
	defer s.mu.Unlock()
	s.items[it.ID] = it
	s.order = append(s.order, it.ID)
	return it
}

// Get returns the item with the given ID.
func (s *MemoryItems) Get(id string) (Item, bool) {
	s.mu.RLock()
	defer s.mu.RUnlock()
	it, ok := s.items[id]
	return it, ok
}

// List returns all items in creation order.
func (s *MemoryItems) List() []Item {
	s.mu.RLock()
	defer s.mu.RUnlock()
	out := make([]Item, 0, len(s.order))
	for _, id := range s.order {
		out = append(out, s.items[id])
	}
	return out
}

// Delete removes the item with the given ID and reports whether it existed.
func (s *MemoryItems) Delete(id string) bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	if _, ok := s.items[id]; !ok {
		return false
	}
	delete(s.items, id)
	for i, v := range s.order {
		if v == id {
			s.order = append(s.order[:i], s.order[i+1:]...)
			break
		}
	}
	return true
}

// newID returns 16 random hex digits.
func newID() string {
	var b [8]byte
	_, _ = rand.Read(b[:]) // crypto/rand.Read never returns an error since Go 1.24.
	return hex.EncodeToString(b[:])
}
