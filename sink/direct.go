package sink

import (
	"bufio"
	"cmp"
	"context"
	"fmt"
	"net"
	"strconv"
	"time"

	"github.com/redis/go-redis/v9"
)

// The direct transport: against a standalone Redis (a *redis.Client) the
// Writer encodes its XADDs as RESP into one buffer and sends them on a
// connection of its own, reading the replies without building a redis.Cmd
// per record. go-redis's generic pipeline spends more CPU than the rest of
// the connector together (one Cmd, one type switch and one buffered write
// per argument, and a reply value per command, for each of 17 arguments per
// record); see BENCHMARKS.md. Connections are dialled with the client's own
// Dialer (so TLS settings carry over) and authenticated and switched to the
// client's DB the way go-redis does. Cluster and sentinel clients, and
// writers built WithGoRedisPipeline, use go-redis pipelines.

// replyError is an error reply from Redis. Like go-redis's replies it
// satisfies redis.Error, so Retryable classifies it by its text.
type replyError string

func (e replyError) Error() string { return string(e) }

// RedisError marks replyError as a redis.Error.
func (replyError) RedisError() {}

var _ redis.Error = replyError("")

// directPool holds the idle connections of one Writer.
type directPool struct {
	opts *redis.Options
	idle chan *directConn
}

type directConn struct {
	conn net.Conn
	r    *bufio.Reader
}

// directFor returns a pool for client when the direct transport can serve
// it: a standalone client of one fixed server address whose credentials are
// static. A Sentinel (failover) client is a *redis.Client too, but its
// address is no address ("FailoverClient"): its Dialer asks the sentinels for
// the current master at each dial, and only go-redis's own pool is closed on
// +switch-master. The direct pool would keep writing to a demoted master over
// the connections it holds, so such a client uses go-redis pipelines.
func directFor(client redis.Cmdable) *directPool {
	c, ok := client.(*redis.Client)
	if !ok || c == nil {
		return nil
	}
	opts := c.Options()
	if opts.Dialer == nil || opts.OnConnect != nil || opts.CredentialsProvider != nil ||
		opts.CredentialsProviderContext != nil || opts.StreamingCredentialsProvider != nil {
		return nil
	}
	switch opts.Network {
	case "unix":
	case "tcp", "":
		if _, _, err := net.SplitHostPort(opts.Addr); err != nil {
			return nil
		}
	default:
		return nil
	}
	return newDirectPool(opts)
}

func newDirectPool(opts *redis.Options) *directPool {
	size := opts.PoolSize
	if size <= 0 {
		size = 10
	}
	return &directPool{opts: opts, idle: make(chan *directConn, size)}
}

// get returns an idle connection or dials a new one.
func (p *directPool) get(ctx context.Context) (*directConn, error) {
	for {
		var dc *directConn
		select {
		case dc = <-p.idle:
		default:
		}
		if dc == nil {
			break
		}
		if dc.r.Buffered() == 0 && alive(dc.conn) {
			return dc, nil
		}
		_ = dc.conn.Close()
	}
	// go-redis's Dialer applies the client's DialTimeout (and TLS) itself.
	conn, err := p.opts.Dialer(ctx, p.opts.Network, p.opts.Addr)
	if err != nil {
		return nil, fmt.Errorf("%w %s: %w", errConnect, p.opts.Addr, err)
	}
	dc := &directConn{conn: conn, r: bufio.NewReaderSize(conn, 32<<10)}
	if err := p.handshake(ctx, dc); err != nil {
		_ = conn.Close()
		return nil, fmt.Errorf("%w %s: %w", errConnect, p.opts.Addr, err)
	}
	return dc, nil
}

// handshake authenticates and selects the DB, as go-redis does on a new
// connection. An error reply is returned as it is (WRONGPASS, NOPERM).
func (p *directPool) handshake(ctx context.Context, dc *directConn) error {
	var buf []byte
	n := 0
	if p.opts.Password != "" {
		if p.opts.Username != "" {
			buf = appendCommand(buf, "auth", p.opts.Username, p.opts.Password)
		} else {
			buf = appendCommand(buf, "auth", p.opts.Password)
		}
		n++
	}
	if p.opts.DB != 0 {
		buf = appendCommand(buf, "select", strconv.Itoa(p.opts.DB))
		n++
	}
	if n == 0 {
		return nil
	}
	var refused error // the first error reply
	err := dc.roundTrip(ctx, p.opts, buf, func(r *bufio.Reader) error {
		for range n {
			reply, err := readReply(r, 0)
			if err != nil {
				return err
			}
			refused = cmp.Or(refused, reply)
		}
		return nil
	})
	return cmp.Or(err, refused)
}

// put returns a healthy connection to the pool, or closes it when the pool
// is full.
func (p *directPool) put(dc *directConn) {
	select {
	case p.idle <- dc:
	default:
		_ = dc.conn.Close()
	}
}

// discard closes dc after a failure, and the idle connections with it:
// whatever broke one (a restart, a failover, a network cut) most likely
// broke them all, and each would otherwise fail a batch of its own.
func (p *directPool) discard(dc *directConn) {
	_ = dc.conn.Close()
	p.close()
}

// close closes the idle connections.
func (p *directPool) close() {
	for {
		select {
		case dc := <-p.idle:
			_ = dc.conn.Close()
		default:
			return
		}
	}
}

// roundTrip sends buf and reads the replies with read. The returned error
// is a connection failure (or ctx's error once ctx is done): the replies
// not yet read are unknown and the connection must be dropped.
//
// Each I/O is bounded by the sooner of ctx's deadline and the client's
// socket timeout, and cancelling ctx interrupts it, the write and the wait
// for replies alike: the flush timeout bounds an attempt even against a
// server that accepts the commands and never answers. Replies abandoned
// that way make their records unknown, so they are retried and may be
// written twice; a transaction is applied whole or not at all, so a retry
// never reorders them.
func (dc *directConn) roundTrip(ctx context.Context, opts *redis.Options, buf []byte, read func(*bufio.Reader) error) (err error) {
	defer func() {
		if err == nil {
			return
		}
		// Say it was the deadline or the cancellation, not the i/o timeout
		// it caused (the socket's deadline can fire before ctx's timer).
		if ctx.Err() != nil {
			err = ctx.Err()
		} else if d, ok := ctx.Deadline(); ok && !time.Now().Before(d) {
			err = context.DeadlineExceeded
		}
	}()
	if err := dc.conn.SetWriteDeadline(deadline(ctx, opts.WriteTimeout)); err != nil {
		return err
	}
	// Registered after the write deadline is set, so that a ctx already
	// done interrupts the write rather than being overwritten by it.
	interrupted := make(chan struct{})
	stop := context.AfterFunc(ctx, func() {
		_ = dc.conn.SetDeadline(time.Unix(1, 0))
		close(interrupted)
	})
	defer func() {
		if !stop() {
			<-interrupted // the next round trip sets its own deadlines
		}
	}()
	if _, err := dc.conn.Write(buf); err != nil {
		return err
	}
	if err := dc.conn.SetReadDeadline(deadline(ctx, opts.ReadTimeout)); err != nil {
		return err
	}
	// A cancellation between the write and the line above had its past
	// deadline overwritten; one after it interrupts the reads.
	if err := ctx.Err(); err != nil {
		return err
	}
	return read(dc.r)
}

// deadline is the sooner of ctx's deadline and timeout from now; no
// deadline when ctx has none and timeout is not positive.
func deadline(ctx context.Context, timeout time.Duration) time.Time {
	var d time.Time
	if timeout > 0 {
		d = time.Now().Add(timeout)
	}
	if cd, ok := ctx.Deadline(); ok && (d.IsZero() || cd.Before(d)) {
		d = cd
	}
	return d
}
