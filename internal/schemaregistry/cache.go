package schemaregistry

import (
	"container/list"
	"sync"
)

// schemaCache keeps the most recently used compiled schemas by id, at most
// size of them. Permanent failures (an unknown id, a schema that does not
// compile) are kept too, so a stream of bad records does not become a
// stream of requests.
type schemaCache struct {
	mu    sync.Mutex
	size  int
	order *list.List // of *cacheEntry, most recently used first
	byID  map[int]*list.Element
}

type cacheEntry struct {
	id  int
	sch *compiled
	err *RecordError
}

func newSchemaCache(size int) *schemaCache {
	return &schemaCache{size: max(size, 1), order: list.New(), byID: map[int]*list.Element{}}
}

func (c *schemaCache) get(id int) (*cacheEntry, bool) {
	c.mu.Lock()
	defer c.mu.Unlock()
	el, ok := c.byID[id]
	if !ok {
		return nil, false
	}
	c.order.MoveToFront(el)
	return el.Value.(*cacheEntry), true
}

func (c *schemaCache) put(e *cacheEntry) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if el, ok := c.byID[e.id]; ok {
		el.Value = e
		c.order.MoveToFront(el)
		return
	}
	c.byID[e.id] = c.order.PushFront(e)
	for c.order.Len() > c.size {
		last := c.order.Back()
		c.order.Remove(last)
		delete(c.byID, last.Value.(*cacheEntry).id)
	}
}

func (c *schemaCache) len() int {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.order.Len()
}
