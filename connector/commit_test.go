package connector

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/twmb/franz-go/pkg/kgo"
	"github.com/twmb/franz-go/pkg/kmsg"

	"github.com/kafka-redis-connector/kafka-redis-connector/config"
)

type commitDone = func(*kgo.Client, *kmsg.OffsetCommitRequest, *kmsg.OffsetCommitResponse, error)

// fakeCommitter holds asynchronous commits until the test finishes them and,
// like kgo, makes a synchronous commit wait for the asynchronous one in flight.
type fakeCommitter struct {
	mu      sync.Mutex
	onDone  commitDone
	done    chan struct{} // closed when the asynchronous commit finished
	commits []string      // synchronous commits, as "topic/partition@offset"
}

func (f *fakeCommitter) CommitOffsets(_ context.Context, _ map[string]map[int32]kgo.EpochOffset, onDone commitDone) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.onDone, f.done = onDone, make(chan struct{})
}

// finish answers the asynchronous commit in flight with err.
func (f *fakeCommitter) finish(err error) {
	f.mu.Lock()
	onDone, done := f.onDone, f.done
	f.mu.Unlock()
	onDone(nil, kmsg.NewPtrOffsetCommitRequest(), kmsg.NewPtrOffsetCommitResponse(), err)
	close(done)
}

func (f *fakeCommitter) CommitOffsetsSync(_ context.Context, offsets map[string]map[int32]kgo.EpochOffset, onDone commitDone) {
	f.mu.Lock()
	done := f.done
	f.mu.Unlock()
	if done != nil {
		<-done
	}
	f.mu.Lock()
	for topic, ps := range offsets {
		for p, eo := range ps {
			f.commits = append(f.commits, fmt.Sprintf("%s/%d@%d", topic, p, eo.Offset))
		}
	}
	f.mu.Unlock()
	onDone(nil, kmsg.NewPtrOffsetCommitRequest(), kmsg.NewPtrOffsetCommitResponse(), nil)
}

func (f *fakeCommitter) syncCommits() []string {
	f.mu.Lock()
	defer f.mu.Unlock()
	out := slices.Clone(f.commits)
	slices.Sort(out)
	return out
}

// A synchronous commit (at revoke and shutdown) must cover what an
// asynchronous commit still in flight covered when that one fails.
func TestCommitSyncAfterFailedAsyncCommit(t *testing.T) {
	done := func(c *Connector, partition int32, through int64) {
		for o := int64(0); o <= through; o++ {
			rec := &kgo.Record{Topic: "events", Partition: partition, Offset: o}
			c.tracker.Track(rec)
			c.tracker.Done(rec)
		}
	}
	for _, tc := range []struct {
		name     string
		asyncErr error
		later    func(c *Connector) // what becomes committable while the async commit is in flight
		want     []string
	}{
		{name: "async fails, nothing new", asyncErr: errors.New("coordinator gone"),
			want: []string{"events/0@5"}},
		{name: "async fails, another partition moved", asyncErr: errors.New("coordinator gone"),
			later: func(c *Connector) { done(c, 1, 2) }, want: []string{"events/0@5", "events/1@3"}},
		{name: "async succeeds, another partition moved",
			later: func(c *Connector) { done(c, 1, 2) }, want: []string{"events/1@3"}},
		{name: "async succeeds, nothing new"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			c := New(config.Default(), nil)
			f := &fakeCommitter{}
			done(c, 0, 4)
			c.commitAsync(context.Background(), f)
			if tc.later != nil {
				tc.later(c)
			}
			errc := make(chan error, 1)
			go func() { errc <- c.commitSync(context.Background(), f) }()
			// Answer the asynchronous commit only once commitSync had
			// every chance to decide without it.
			time.Sleep(50 * time.Millisecond)
			f.finish(tc.asyncErr)
			if err := <-errc; err != nil {
				t.Fatalf("commitSync: got error %v, want nil", err)
			}
			if got := f.syncCommits(); !slices.Equal(got, tc.want) {
				t.Errorf("synchronous commits: got %v, want %v", got, tc.want)
			}
		})
	}
}
