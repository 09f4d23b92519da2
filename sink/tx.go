package sink

import (
	"bufio"
	"cmp"
	"context"
	"fmt"
	"strconv"
	"strings"
	"sync"

	"github.com/redis/go-redis/v9"
)

// Each Write sends its XADDs inside one MULTI/EXEC (on a cluster, one per
// hash slot), so that a retryable failure can never leave later records of
// a partition in a stream ahead of an earlier one. Redis answers a
// transaction in one of three ways (src/multi.c, processCommand in
// src/server.c; Valkey alike):
//
//   - A command refused while queued - OOM, MISCONF, BUSY, LOADING,
//     READONLY, NOREPLICAS, MASTERDOWN, NOPERM, MOVED/ASK/TRYAGAIN/
//     CLUSTERDOWN on a cluster: every check of the server's state runs
//     then - flags the transaction, and EXEC answers EXECABORT (so does
//     an EXEC that is itself refused, "EXECABORT ... because of: OOM ...").
//     Nothing of the transaction is applied, so every record of it is
//     retried, in its order.
//   - EXEC runs the commands, atomically and in order, and each gets its
//     own reply in EXEC's array. The only checks left then are the
//     command's own (WRONGTYPE, a refused explicit ID: the record's fault,
//     reported for that record alone, the others being applied, so their
//     order holds) and the ACL re-check ("NOPERM ACLs rules changed"),
//     whose verdict is the same for every XADD to one key within one
//     EXEC. So a retryable error in the array fails every record of that
//     stream in the transaction after it as well, and none of them is
//     applied after it. Each record is reported as the array says: a
//     server breaking that rule would already have applied the later
//     records, and re-sending them would add duplicates without mending
//     the order.
//   - MULTI itself refused (an ACL without +multi, a proxy without
//     transactions): the commands ran one by one, and their replies are
//     their outcomes, as in a plain pipeline; the connection is dropped.
const (
	respMulti = "*1\r\n$5\r\nmulti\r\n"
	respExec  = "*1\r\n$4\r\nexec\r\n"
)

// readTransaction reads the replies to MULTI, n commands and EXEC, and then
// calls reply(i, err) for each command in order with its outcome: nil when
// Redis applied it. queued holds n errors of scratch space. It reports
// whether the connection is still fit for reuse; its error is the
// connection's failure, with the commands not given to reply unknown.
func readTransaction(r *bufio.Reader, n int, queued []error, reply func(int, error)) (reusable bool, err error) {
	multiErr, err := readReply(r, 0)
	if err != nil {
		return false, err
	}
	for i := range n {
		if queued[i], err = readQueued(r); err != nil {
			return false, err
		}
	}
	if multiErr != nil {
		if _, err := readReply(r, 0); err != nil { // "EXEC without MULTI"
			return false, err
		}
		for i, q := range queued {
			reply(i, q)
		}
		return false, nil
	}
	line, err := readLine(r)
	if err != nil {
		return false, err
	}
	switch line[0] {
	case '-':
		abort := replyError(line[1:])
		for i, q := range queued {
			reply(i, cmp.Or(q, error(abort)))
		}
		// EXECABORT ends the transaction; after any other refusal of
		// EXEC, whether the connection is still in MULTI is unknown.
		return strings.HasPrefix(string(abort), "EXECABORT "), nil
	case '*':
		if count, err := strconv.Atoi(string(line[1:])); err != nil || count != n {
			return false, fmt.Errorf("%w: exec of %d commands answered %q", errProtocol, n, clip(line))
		}
		for i := range n {
			re, err := readBulk(r)
			if err != nil {
				return false, err
			}
			reply(i, re)
		}
		return true, nil
	default:
		return false, fmt.Errorf("%w: exec answered %q", errProtocol, clip(line))
	}
}

// execTx runs cmds, in order, in go-redis transactions: one for a
// standalone or sentinel client, one per hash slot, concurrently, for a
// cluster client (go-redis refuses a cluster transaction spanning slots).
// keys[i] is cmds[i]'s stream. Each command carries its own outcome. With
// replica acks each transaction is followed by WAIT on its connection, and
// the first shortfall is returned.
func (w *Writer) execTx(ctx context.Context, cmds []*redis.Cmd, keys []string) error {
	run := func(cmds []*redis.Cmd, key string) error {
		if w.acks.n > 0 {
			return w.execTxWait(ctx, cmds, key)
		}
		tx := w.client.TxPipeline()
		for _, cmd := range cmds {
			_ = tx.Process(ctx, cmd)
		}
		_, _ = tx.Exec(ctx) // every command carries its own error
		return nil
	}
	if !w.cluster {
		return run(cmds, "")
	}
	slots := map[int][]*redis.Cmd{}
	slotKey := map[int]string{}
	for i, cmd := range cmds {
		slot := clusterSlot(keys[i])
		slots[slot] = append(slots[slot], cmd)
		slotKey[slot] = keys[i]
	}
	var wg sync.WaitGroup
	var mu sync.Mutex
	var acks error
	for slot, group := range slots {
		wg.Go(func() {
			if err := run(group, slotKey[slot]); err != nil {
				mu.Lock()
				acks = cmp.Or(acks, err)
				mu.Unlock()
			}
		})
	}
	wg.Wait()
	return acks
}

// execTxWait runs one transaction and WAIT on one connection: the client's
// own, or on a cluster the connection to the primary serving key.
func (w *Writer) execTxWait(ctx context.Context, cmds []*redis.Cmd, key string) error {
	var client *redis.Client
	switch c := w.client.(type) {
	case *redis.Client:
		client = c
	case *redis.ClusterClient:
		var err error
		if client, err = c.MasterForKey(ctx, key); err != nil {
			for _, cmd := range cmds {
				cmd.SetErr(fmt.Errorf("sink: primary for %s: %w", key, err))
			}
			return nil
		}
	}
	return w.acks.txWithWait(ctx, client, cmds)
}
