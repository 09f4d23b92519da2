//go:build integration

package testcontainers

import (
	"testing"
	"time"
)

// TestGroupMembership runs several connector processes in one group and
// changes the membership mid-run. Revoked partitions are flushed and
// committed before they move, so nothing is lost and, with no crash,
// nothing is duplicated.
func TestGroupMembership(t *testing.T) {
	tests := []struct {
		name    string
		initial int // members started before the load
		join    int // members started mid-run
		leave   int // members stopped (SIGTERM) mid-run
	}{
		{name: "two_members_one_stops", initial: 2, leave: 1},
		{name: "second_member_joins", initial: 1, join: 1},
		{name: "third_member_joins", initial: 2, join: 1},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			const total = 120_000
			s := newScenario(t, tt.name, 6)
			env := s.env(nil)
			var members []*connectorProcess
			for i := range tt.initial {
				members = append(members, startConnector(t, string(rune('a'+i)), env))
			}
			s.waitMembers(t, tt.initial, time.Minute, members...)

			pr := newProducer(t, s.topic, s.partitions)
			l := startLoad(pr, total, 12_000)
			s.waitEntries(t, total/4, 2*time.Minute, members...)
			for range tt.leave {
				last := members[len(members)-1]
				members = members[:len(members)-1]
				last.stop(t)
			}
			for i := range tt.join {
				members = append(members, startConnector(t, string(rune('a'+tt.initial+i)), env))
			}
			s.waitMembers(t, len(members), time.Minute, members...)

			l.wait(t)
			s.awaitDelivery(t, 3*time.Minute, members...)
			for _, m := range members {
				m.stop(t)
			}
			s.requireCommittedAtEnd(t)
			s.verify(t, pr, verifyOpts{noDuplicates: true})
		})
	}
}
