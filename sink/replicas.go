package sink

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/redis/go-redis/v9"
)

// replicaAcks is redis.wait_replicas / redis.wait_timeout: after each
// write's transaction the Writer sends WAIT on the same connection (WAIT
// counts the replicas that acknowledged that connection's writes), and a
// write fewer replicas acknowledged is not acknowledged to the connector.
type replicaAcks struct {
	n         int
	timeout   time.Duration
	timeoutMS string
}

// WithReplicaAcks makes every Write wait for n replicas to acknowledge its
// transaction, for at most timeout (WAIT n timeout). Fewer acknowledgements
// fail the records of the write with ErrReplicaShortfall (retryable): their
// offsets are not committed and the retry appends them again, so each
// shortfall duplicates the write's entries. n <= 0 turns it off.
func WithReplicaAcks(n int, timeout time.Duration) WriterOption {
	return func(w *Writer) error {
		if n <= 0 {
			w.acks = replicaAcks{}
			return nil
		}
		if timeout < time.Millisecond {
			return fmt.Errorf("sink: replica acknowledgement timeout %s: want at least 1ms", timeout)
		}
		switch w.client.(type) {
		case *redis.Client, *redis.ClusterClient:
		default:
			return fmt.Errorf("sink: waiting for replicas needs a standalone, sentinel or cluster client, not %T", w.client)
		}
		w.acks = replicaAcks{n: n, timeout: timeout, timeoutMS: strconv.FormatInt(timeout.Milliseconds(), 10)}
		return nil
	}
}

// appendWAIT appends the WAIT command as RESP.
func (a replicaAcks) appendWAIT(b []byte) []byte {
	return appendCommand(b, "wait", strconv.Itoa(a.n), a.timeoutMS)
}

// verdict is nil when acked replicas are enough, else the shortfall.
func (a replicaAcks) verdict(acked int64) error {
	if acked >= int64(a.n) {
		return nil
	}
	return fmt.Errorf("%w: %d of %d replicas within %s", ErrReplicaShortfall, acked, a.n, a.timeout)
}

// readVerdict reads WAIT's reply. io is the connection's failure; any
// reply but a count is a shortfall, since the replicas' state is unknown.
func (a replicaAcks) readVerdict(r *bufio.Reader) (verdict, io error) {
	line, err := readLine(r)
	if err != nil {
		return fmt.Errorf("%w: wait: %w", ErrReplicaShortfall, err), err
	}
	switch line[0] {
	case ':':
		acked, err := strconv.ParseInt(string(line[1:]), 10, 64)
		if err != nil {
			err = fmt.Errorf("%w: wait answered %q", errProtocol, clip(line))
			return fmt.Errorf("%w: %w", ErrReplicaShortfall, err), err
		}
		return a.verdict(acked), nil
	case '-':
		return fmt.Errorf("%w: wait: %s", ErrReplicaShortfall, line[1:]), nil
	}
	// Still in MULTI after a refused EXEC ("+QUEUED"), or worse: the
	// connection is not reused either way.
	err = fmt.Errorf("%w: wait answered %q", errProtocol, clip(line))
	return fmt.Errorf("%w: %w", ErrReplicaShortfall, err), err
}

// txWithWait runs cmds in a transaction followed by WAIT, in one pipeline
// on one connection of client (WAIT counts the replicas that acknowledged
// that connection's writes): MULTI, the commands, EXEC, WAIT. go-redis's
// own transactions cannot carry a command after EXEC, so the transaction
// is spelled out and EXEC's replies are handed to the commands as
// readTransaction does on the direct transport. It returns WAIT's verdict.
func (a replicaAcks) txWithWait(ctx context.Context, client *redis.Client, cmds []*redis.Cmd) error {
	conn := client.Conn()
	defer func() { _ = conn.Close() }()
	pipe := conn.Pipeline()
	multi := redis.NewStatusCmd(ctx, "multi")
	exec := redis.NewSliceCmd(ctx, "exec")
	// A generic Cmd: a reply that is not a count must not fail the
	// pipeline's other commands, as a parse error of an IntCmd would.
	wait := redis.NewCmd(ctx, "wait", a.n, a.timeoutMS)
	_ = pipe.Process(ctx, multi)
	for _, cmd := range cmds {
		_ = pipe.Process(ctx, cmd) // while queued: "QUEUED", or refused
	}
	_ = pipe.Process(ctx, exec)
	_ = pipe.Process(ctx, wait)
	_, _ = pipe.Exec(ctx) // every command carries its own outcome
	failAll := func(err error) {
		for _, cmd := range cmds {
			if cmd.Err() == nil {
				cmd.SetErr(err)
			}
		}
	}
	execErr := exec.Err()
	switch {
	case execErr != nil && !isReply(execErr):
		// The connection failed: what was applied is unknown, so the
		// commands are retried; there is nothing to wait for.
		failAll(execErr)
		return nil
	case multi.Err() != nil:
		// MULTI refused: the commands ran one by one and their replies are
		// their outcomes (EXEC answered "EXEC without MULTI") - unless the
		// connection was in a transaction already, which is then unknown.
		if slices.ContainsFunc(cmds, func(c *redis.Cmd) bool { return c.Err() == nil && c.Val() == "QUEUED" }) {
			_ = conn.Do(ctx, "discard").Err()
			failAll(fmt.Errorf("%w: multi refused inside a transaction: %w", errProtocol, multi.Err()))
			return nil
		}
	case execErr != nil:
		// EXECABORT: nothing was applied. Any other refusal of EXEC may
		// leave the connection in MULTI, with WAIT queued: end it.
		failAll(execErr)
		if !strings.HasPrefix(execErr.Error(), "EXECABORT ") {
			_ = conn.Do(ctx, "discard").Err()
		}
	case len(exec.Val()) != len(cmds):
		failAll(fmt.Errorf("%w: exec of %d commands answered %d replies", errProtocol, len(cmds), len(exec.Val())))
		return nil
	default:
		for i, v := range exec.Val() {
			if rerr, ok := v.(error); ok {
				cmds[i].SetErr(rerr)
			} else {
				cmds[i].SetVal(v)
			}
		}
	}
	acked, err := wait.Int64()
	if err != nil {
		return fmt.Errorf("%w: wait: %w", ErrReplicaShortfall, err)
	}
	return a.verdict(acked)
}

// isReply reports whether err is an error reply from Redis, not a failure
// of the connection.
func isReply(err error) bool {
	var reply redis.Error
	return errors.As(err, &reply)
}
