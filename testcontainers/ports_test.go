package testcontainers

// No build tag: the allocator's own tests run in `make test` too.

import (
	"bufio"
	"fmt"
	"math/rand/v2"
	"net"
	"os"
	"strconv"
	"strings"
	"sync"
	"testing"
)

// The suite's processes (connectors, Prometheus, redis-server, proxies)
// bind the addresses the tests pick for them. A port read from a closed :0
// listener goes back to the kernel at once, and the next :0 may return it
// again: TestObservability once gave Prometheus and the connector the same
// port (bind: address already in use). freeAddr hands out each port at
// most once per test process, checks that it can be bound, and takes it
// from outside the kernel's ephemeral range, which the kernel never assigns
// by itself (to a :0 listener or an outgoing connection), so the port stays
// free until the process it was picked for binds it.

// suitePorts is the one allocator of the test process: uniqueness holds
// only if every pick goes through it.
var suitePorts portAllocator

// freeAddr returns a 127.0.0.1 address no one listens on, never returned
// before in this process.
func freeAddr(t testing.TB) string {
	t.Helper()
	addr, err := suitePorts.addr()
	if err != nil {
		t.Fatal(err)
	}
	return addr
}

// portAllocator hands out the ports of [lo, hi) that can be bound, each
// once, starting at a random one so that two suites on one machine seldom
// try the same ports. The zero value picks its range on first use.
type portAllocator struct {
	mu     sync.Mutex
	lo, hi int
	next   int
	used   map[int]bool
}

func (a *portAllocator) addr() (string, error) {
	a.mu.Lock()
	defer a.mu.Unlock()
	if a.used == nil {
		if a.lo == 0 && a.hi == 0 {
			a.lo, a.hi = portRange()
		}
		a.next = a.lo + rand.IntN(a.hi-a.lo)
		a.used = map[int]bool{}
	}
	for range a.hi - a.lo {
		port := a.next
		if a.next++; a.next == a.hi {
			a.next = a.lo
		}
		if a.used[port] {
			continue
		}
		addr := net.JoinHostPort("127.0.0.1", strconv.Itoa(port))
		ln, err := net.Listen("tcp", addr)
		if err != nil {
			continue // someone else's
		}
		_ = ln.Close()
		a.used[port] = true
		return addr, nil
	}
	return "", fmt.Errorf("ports: none free in %d-%d", a.lo, a.hi-1)
}

// portRange returns the larger of the stretches below (from 20000, clear
// of the services' fixed ports) and above the kernel's ephemeral range.
func portRange() (lo, hi int) {
	low, high := ephemeralRange()
	below, above := [2]int{20000, low}, [2]int{high + 1, 65536}
	r := below
	if above[1]-above[0] > below[1]-below[0] {
		r = above
	}
	if r[1]-r[0] < 1000 {
		return 20000, 65536 // the ephemeral range covers almost all: share it
	}
	return r[0], r[1]
}

// ephemeralRange reads Linux's ip_local_port_range, or returns its default.
func ephemeralRange() (low, high int) {
	low, high = 32768, 60999
	f, err := os.Open("/proc/sys/net/ipv4/ip_local_port_range")
	if err != nil {
		return low, high
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	if !sc.Scan() {
		return low, high
	}
	fields := strings.Fields(sc.Text())
	if len(fields) != 2 {
		return low, high
	}
	l, err1 := strconv.Atoi(fields[0])
	h, err2 := strconv.Atoi(fields[1])
	if err1 != nil || err2 != nil || l > h {
		return low, high
	}
	return l, h
}

// TestFreeAddrNeverRepeats asks for 200 addresses at once, as parallel
// scenarios do, then binds them all at the same time, as their processes
// would: every one must be distinct and bindable.
func TestFreeAddrNeverRepeats(t *testing.T) {
	const n = 200
	addrs := make([]string, n)
	var wg sync.WaitGroup
	errs := make([]error, n)
	for i := range addrs {
		wg.Go(func() { addrs[i], errs[i] = suitePorts.addr() })
	}
	wg.Wait()
	for i, err := range errs {
		if err != nil {
			t.Fatalf("request %d: got %v, want an address", i, err)
		}
	}
	seen := map[string]int{}
	for i, a := range addrs {
		if j, dup := seen[a]; dup {
			t.Errorf("got %s for requests %d and %d, want a different address each", a, j, i)
		}
		seen[a] = i
	}
	for _, a := range addrs {
		ln, err := net.Listen("tcp", a)
		if err != nil {
			t.Errorf("listen on handed-out %s: got %v, want it free", a, err)
			continue
		}
		defer ln.Close()
	}
}

// TestPortAllocatorSkipsBoundPorts: a port someone listens on is never
// handed out, and a range with nothing left says so.
func TestPortAllocatorSkipsBoundPorts(t *testing.T) {
	taken, err := net.Listen("tcp", freeAddr(t))
	if err != nil {
		t.Fatal(err)
	}
	defer taken.Close()
	p := taken.Addr().(*net.TCPAddr).Port
	a := &portAllocator{lo: p, hi: p + 1}
	if addr, err := a.addr(); err == nil {
		t.Errorf("range of the bound port %d: got %s, want an error", p, addr)
	}

	free := freeAddr(t)
	q, _ := strconv.Atoi(free[strings.LastIndexByte(free, ':')+1:])
	b := &portAllocator{lo: q, hi: q + 1}
	if addr, err := b.addr(); addr != free || err != nil {
		t.Fatalf("range of the free port %d: got %q, %v, want %s, nil", q, addr, err, free)
	}
	if addr, err := b.addr(); err == nil {
		t.Errorf("second request from a one-port range: got %s, want an error (handed out already)", addr)
	}
}

func TestPortRangeAvoidsEphemeralPorts(t *testing.T) {
	low, high := ephemeralRange()
	lo, hi := portRange()
	if lo < 20000 {
		t.Errorf("got ports from %d, want none below 20000 (the services' fixed ports)", lo)
	}
	roomOutside := low-20000 >= 1000 || 65535-high >= 1000
	if roomOutside && lo <= high && hi > low {
		t.Errorf("got ports %d-%d, want them outside the ephemeral range %d-%d", lo, hi-1, low, high)
	}
}
