//go:build integration

package testcontainers

import (
	"context"
	"fmt"
	"sort"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/kafka-redis-connector/kafka-redis-connector/sink"
)

// TestBasic: records over 4 partitions all arrive in order with the default
// fields, and after SIGTERM the committed offsets are the end offsets.
func TestBasic(t *testing.T) {
	s := newScenario(t, "basic", 4)
	start := time.Now()
	pr := newProducer(t, s.topic, s.partitions)
	pr.produce(context.Background(), 20000)
	pr.flush(t)

	c := startConnector(t, "a", s.env(nil))
	s.awaitDelivery(t, 2*time.Minute, c)
	c.stop(t)

	s.requireCommittedAtEnd(t)
	s.verify(t, pr, verifyOpts{noDuplicates: true})
	s.checkDefaultFields(t, start)
}

// checkDefaultFields checks every entry against the default mapping: value,
// topic, partition, offset (Kafka order, from 0) and timestamp (ms), and no
// key field since the records have none.
func (s *scenario) checkDefaultFields(t *testing.T, start time.Time) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	lo, hi := start.Add(-time.Minute).UnixMilli(), time.Now().Add(time.Minute).UnixMilli()
	wantFields := "offset,partition,timestamp,topic,value"
	errs := 0
	report := func(format string, args ...any) {
		if errs++; errs <= 10 {
			t.Errorf(format, args...)
		}
	}
	for p := range s.partitions {
		next := int64(0)
		err := sink.ReadStream(ctx, s.rdb, s.streamKey(p), func(id string, f map[string]any) error {
			names := make([]string, 0, len(f))
			for k := range f {
				names = append(names, k)
			}
			sort.Strings(names)
			if got := strings.Join(names, ","); got != wantFields {
				report("%s %s: got fields %s, want %s", s.streamKey(p), id, got, wantFields)
			}
			off, err := strconv.ParseInt(fmt.Sprint(f["offset"]), 10, 64)
			if err != nil || off != next {
				report("%s %s: got offset %v, want %d", s.streamKey(p), id, f["offset"], next)
			}
			next = off + 1
			ts, err := strconv.ParseInt(fmt.Sprint(f["timestamp"]), 10, 64)
			if err != nil || ts < lo || ts > hi {
				report("%s %s: got timestamp %v, want milliseconds within [%d, %d]", s.streamKey(p), id, f["timestamp"], lo, hi)
			}
			return nil
		})
		if err != nil {
			t.Fatal(err)
		}
	}
}

// TestLoad200k: 200,000 records over 6 partitions, produced while the
// connector runs.
func TestLoad200k(t *testing.T) {
	const total = 200_000
	s := newScenario(t, "load_200k", 6)
	pr := newProducer(t, s.topic, s.partitions)

	c := startConnector(t, "a", s.env(nil))
	start := time.Now()
	l := startLoad(pr, total, 0)
	sent := l.wait(t)
	produced := time.Since(start)
	s.awaitDelivery(t, 5*time.Minute, c)
	elapsed := time.Since(start)
	t.Logf("load_200k: %d records produced in %s, all committed after %s (%.0f records/s end to end)",
		sent, produced.Round(time.Millisecond), elapsed.Round(time.Millisecond), float64(sent)/elapsed.Seconds())
	c.stop(t)

	s.requireCommittedAtEnd(t)
	s.verify(t, pr, verifyOpts{noDuplicates: true})
}

// TestSigkillRestart: the connector is killed (no flush, no commit) while
// it works through a backlog, and started again; the commit rule holds at
// the crash and every record arrives, duplicates allowed.
func TestSigkillRestart(t *testing.T) {
	const total = 100_000
	s := newScenario(t, "sigkill_restart", 4)
	pr := newProducer(t, s.topic, s.partitions)
	l := startLoad(pr, total, 0)

	a := startConnector(t, "a", s.env(nil))
	s.waitEntries(t, total/3, 2*time.Minute, a)
	a.kill(t)
	s.checkCommittedHeld(t)
	t.Logf("after SIGKILL: %s", s.progress(t))

	b := startConnector(t, "b", s.env(nil))
	l.wait(t)
	s.awaitDelivery(t, 3*time.Minute, b)
	b.stop(t)

	s.requireCommittedAtEnd(t)
	s.verify(t, pr, verifyOpts{})
}

// TestSigtermUnderLoad: SIGTERM while records stream in faster than the
// connector writes them. It exits 0 having committed only what Redis holds,
// and nothing it wrote is left uncommitted; after a restart the rest
// arrives, without duplicates.
func TestSigtermUnderLoad(t *testing.T) {
	const total = 150_000
	s := newScenario(t, "sigterm_under_load", 4)
	pr := newProducer(t, s.topic, s.partitions)
	l := startLoad(pr, total, 0)

	a := startConnector(t, "a", s.env(nil))
	s.waitEntries(t, total/4, 2*time.Minute, a)
	a.stop(t)
	committed := s.checkCommittedHeld(t)
	t.Logf("after SIGTERM: %s", s.progress(t))
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	n, err := s.entries(ctx)
	cancel()
	if err != nil {
		t.Fatal(err)
	}
	var sum int64
	for _, c := range committed {
		sum += c
	}
	if n != sum {
		t.Errorf("after SIGTERM: got %d entries in Redis, want %d (the sum of the committed offsets): a clean stop commits exactly what it wrote", n, sum)
	}

	b := startConnector(t, "b", s.env(nil))
	l.wait(t)
	s.awaitDelivery(t, 3*time.Minute, b)
	b.stop(t)

	s.requireCommittedAtEnd(t)
	s.verify(t, pr, verifyOpts{noDuplicates: true})
}
