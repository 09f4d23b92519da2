//go:build linux || darwin || dragonfly || freebsd || netbsd || openbsd || solaris || illumos

package sink

import (
	"errors"
	"io"
	"net"
	"syscall"
)

// alive reports whether an idle connection is still open and has nothing
// unread, by peeking at its socket without blocking (as go-redis's pool
// does). A connection Redis closed while idle (a restart, a timeout) is
// found here instead of failing the next batch. TLS connections are not
// peeked at: a TLS record may legitimately be waiting.
func alive(conn net.Conn) bool {
	sc, ok := conn.(syscall.Conn)
	if !ok {
		return true
	}
	raw, err := sc.SyscallConn()
	if err != nil {
		return false
	}
	var peekErr error
	if err := raw.Read(func(fd uintptr) bool {
		var b [1]byte
		n, _, err := syscall.Recvfrom(int(fd), b[:], syscall.MSG_PEEK|syscall.MSG_DONTWAIT)
		switch {
		case n == 0 && err == nil:
			peekErr = io.EOF
		case n > 0:
			peekErr = errors.New("unexpected data")
		case errors.Is(err, syscall.EAGAIN) || errors.Is(err, syscall.EWOULDBLOCK):
		default:
			peekErr = err
		}
		return true
	}); err != nil {
		return false
	}
	return peekErr == nil
}
