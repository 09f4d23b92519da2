// Package redisfault makes an in-process Redis (miniredis) fail the way a
// real one does, for component tests and the demo.
package redisfault

import (
	"strings"
	"sync"

	"github.com/alicebob/miniredis/v2"
	"github.com/alicebob/miniredis/v2/server"
)

// Outage makes a miniredis refuse every command with one error, as
// miniredis's own SetError does, but decides per transaction: a MULTI
// refused while the outage lasts has every command up to its EXEC (or
// DISCARD) refused too, even if the outage ends in between, and one
// accepted before it began runs to its end. SetError alone, cleared between
// a transaction's refused MULTI and its later commands, applies those
// commands one by one - a server that refuses MULTI and then takes XADD,
// which Redis never is (MULTI is allowed while loading, busy or stale, and
// is no write, so OOM, READONLY and NOREPLICAS never refuse it): the records
// after the refused ones would land first and their retry after them, and
// the oracle would report a reordering the connector never made.
type Outage struct {
	mu  sync.Mutex
	msg string                  // the error while down; "" while up
	txs map[*server.Peer]string // the peers inside a transaction: what every command of it is refused with ("" none)
}

// New installs an Outage, not down yet, as mr's command hook (it takes
// the place of SetError's).
func New(mr *miniredis.Miniredis) *Outage {
	o := &Outage{txs: make(map[*server.Peer]string)}
	mr.Server().SetPreHook(o.hook)
	return o
}

// Down refuses every command from the next transaction on with msg, a
// Redis error reply such as "LOADING ...".
func (o *Outage) Down(msg string) {
	o.mu.Lock()
	o.msg = msg
	o.mu.Unlock()
}

// Up ends the outage: transactions begun from then on are served.
func (o *Outage) Up() { o.Down("") }

func (o *Outage) hook(c *server.Peer, cmd string, _ ...string) bool {
	o.mu.Lock()
	defer o.mu.Unlock()
	cmd = strings.ToUpper(cmd)
	msg, inTx := o.txs[c]
	switch {
	case inTx && (cmd == "EXEC" || cmd == "DISCARD"):
		delete(o.txs, c)
	case inTx:
	case cmd == "MULTI":
		msg = o.msg
		o.txs[c] = msg
	default:
		msg = o.msg
	}
	if msg == "" {
		return false
	}
	c.WriteError(msg)
	return true
}
