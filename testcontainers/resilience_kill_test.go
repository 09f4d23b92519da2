//go:build integration

package testcontainers

import (
	"fmt"
	"math/rand/v2"
	"testing"
	"time"
)

// killSessionTimeout is kafka.session_timeout in the kill scenario: the
// broker's minimum (group.min.session.timeout.ms), so that a killed
// member's partitions move on as soon as Kafka allows.
const killSessionTimeout = 6 * time.Second

// TestFaultConnectorKills: the connector is SIGKILLed 10 times (short: 3)
// during a 500,000-record run (short: 50,000) and started again each time.
// At every crash the commit rule holds; at the end every record is in
// Redis, in order; duplicates are the records written but not yet
// committed at each crash. Recovery is the time from a restart to its
// first flush: it waits for the group to expire the killed member
// (kafka.session_timeout), so it is bounded by that, not by the breaker.
func TestFaultConnectorKills(t *testing.T) {
	runConnectorKills(t, guaranteeALO)
}

// runConnectorKills is the kill scenario under g (TestFaultConnectorKills,
// TestExactlyOnceConnectorKills): exactly_once also requires duplicated = 0.
func runConnectorKills(t *testing.T, g guarantee) {
	needServices(t)
	total := sized(50_000, 500_000)
	kills := sized(3, 10)
	rate := sized(2_500, 5_000)
	s := newScenario(t, g.name("connector_kills"), 4)
	pr := newProducer(t, s.topic, s.partitions)
	env := s.env(g.env(map[string]string{"KRC_KAFKA_SESSION_TIMEOUT": killSessionTimeout.String()}))
	l := startLoad(pr, total, rate)

	var procs []*watchedConnector
	var worst time.Duration
	var rss float64
	for i := 0; ; i++ {
		started := time.Now()
		c := startWatched(t, fmt.Sprintf("run%02d", i), env)
		procs = append(procs, c)
		rec := c.firstWriteAfter(t, started, 2*time.Minute)
		worst = max(worst, rec)
		if i == kills {
			break
		}
		// Let it work, then crash it at a random point of its flushes.
		time.Sleep(500*time.Millisecond + rand.N(2*time.Second))
		rss = max(rss, c.maxRSSMiB())
		c.kill(t)
		s.checkCommittedHeld(t)
		t.Logf("kill %d of %d (first flush %s after its start): %s", i+1, kills, rec.Round(time.Millisecond), s.progress(t))
	}
	last := procs[len(procs)-1]
	l.wait(t)
	s.awaitDelivery(t, 5*time.Minute, last.connectorProcess)
	rss = max(rss, last.maxRSSMiB())
	last.stop(t)
	s.requireCommittedAtEnd(t)
	or := s.verify(t, pr, g.verifyOpts())

	rep := faultReport{name: g.name(fmt.Sprintf("connector_sigkill_x%d", kills)), sent: or.Expected, lost: or.Lost,
		dup: or.Duplicated, maxRSSMiB: rss, recovery: worst}
	for _, p := range procs {
		rep.opens += breakerOpens(t, p.logPath)
	}
	rep.log(t)
	if limit := killSessionTimeout + faultBreakerRecovery + recoverySlack; worst > limit {
		t.Errorf("connector kills: got %s from a restart to its first flush, want at most %s "+
			"(kafka.session_timeout + circuit_breaker.recovery + %s)", worst.Round(time.Millisecond), limit, recoverySlack)
	}
}
