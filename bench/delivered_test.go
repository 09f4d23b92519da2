package bench

import (
	"context"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/alicebob/miniredis/v2"
	"github.com/redis/go-redis/v9"

	"github.com/kafka-redis-connector/kafka-redis-connector/config"
	"github.com/kafka-redis-connector/kafka-redis-connector/loadgen"
)

// rec is a backlog record: its partition and sequence number.
type rec struct {
	p   int32
	seq int64
}

func TestCheckDelivered(t *testing.T) {
	// The backlog: 6 records, 3 in each of 2 partitions.
	var all []rec
	for p := range int32(2) {
		for s := range int64(3) {
			all = append(all, rec{p, s})
		}
	}
	without := func(drop rec) []rec {
		var out []rec
		for _, r := range all {
			if r != drop {
				out = append(out, r)
			}
		}
		return out
	}
	withDup := append(append([]rec{}, all...), rec{0, 1}, rec{1, 2})
	for _, tc := range []struct {
		name        string
		entries     []rec
		foreign     string // another entry's value, if set
		exactlyOnce bool
		wantErr     string // "": none
	}{
		{name: "each once, at_least_once", entries: all},
		{name: "each once, exactly_once", entries: all, exactlyOnce: true},
		{name: "duplicates, at_least_once", entries: withDup},
		{name: "duplicates, exactly_once", entries: withDup, exactlyOnce: true, wantErr: "holds 8 entries, 2 of them duplicates, want each of the 6 records once"},
		{name: "one missing, at_least_once", entries: without(rec{1, 0}), wantErr: "1 of the 6 records missing"},
		{name: "one missing but as many entries, at_least_once", entries: append(without(rec{1, 0}), rec{0, 0}),
			wantErr: "1 of the 6 records missing after 100ms (6 entries, 1 duplicates)"},
		{name: "one missing, exactly_once", entries: without(rec{0, 2}), exactlyOnce: true, wantErr: "1 of the 6 records missing"},
		{name: "a foreign entry", entries: all, foreign: "not a record", wantErr: "holds no backlog record"},
		{name: "another run's record", entries: all, foreign: string(loadgen.AppendValue(nil, "other", 0, 0, time.Now(), 10)),
			wantErr: "a record of run other"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			rdb := redis.NewClient(&redis.Options{Addr: miniredis.RunT(t).Addr()})
			defer rdb.Close()
			ctx := context.Background()
			field := config.Default().Stream.ValueField
			for _, r := range tc.entries {
				v := loadgen.AppendValue(nil, "run1", r.p, r.seq, time.Now(), 20)
				if err := rdb.XAdd(ctx, &redis.XAddArgs{Stream: "s", Values: []any{field, v}}).Err(); err != nil {
					t.Fatal(err)
				}
			}
			if tc.foreign != "" {
				if err := rdb.XAdd(ctx, &redis.XAddArgs{Stream: "s", Values: []any{field, tc.foreign}}).Err(); err != nil {
					t.Fatal(err)
				}
			}
			e := &env{rdb: rdb}
			err := e.checkDelivered(ctx, "s", int64(len(all)), tc.exactlyOnce, 100*time.Millisecond)
			if tc.wantErr == "" && err != nil || tc.wantErr != "" && (err == nil || !strings.Contains(err.Error(), tc.wantErr)) {
				t.Errorf("got %v, want %q", err, tc.wantErr)
			}
		})
	}
}

// TestCheckDeliveredWaitsForLateRecords: a drain ends when the stream is
// long enough, duplicates included; a record still on its way counts once
// it arrives, here right after the check's first read.
func TestCheckDeliveredWaitsForLateRecords(t *testing.T) {
	addr := miniredis.RunT(t).Addr()
	writer := redis.NewClient(&redis.Options{Addr: addr})
	defer writer.Close()
	ctx := context.Background()
	field := config.Default().Stream.ValueField
	add := func(seq int64) error {
		v := loadgen.AppendValue(nil, "run1", 0, seq, time.Now(), 20)
		return writer.XAdd(ctx, &redis.XAddArgs{Stream: "s", Values: []any{field, v}}).Err()
	}
	if err := errors.Join(add(0), add(0)); err != nil {
		t.Fatal(err)
	}
	rdb := redis.NewClient(&redis.Options{Addr: addr})
	defer rdb.Close()
	late := &afterFirst{cmd: "xrange", do: func() error { return add(1) }}
	rdb.AddHook(late)
	e := &env{rdb: rdb}
	if err := e.checkDelivered(ctx, "s", 2, false, time.Minute); err != nil {
		t.Fatalf("got %v, want the late record found", err)
	}
	if !late.done || late.err != nil {
		t.Fatalf("the late record: added %v (%v), want it added after the first read", late.done, late.err)
	}
}

// afterFirst is a go-redis hook that runs do once, after the first command
// named cmd.
type afterFirst struct {
	cmd  string
	do   func() error
	done bool
	err  error
}

func (h *afterFirst) DialHook(next redis.DialHook) redis.DialHook { return next }

func (h *afterFirst) ProcessHook(next redis.ProcessHook) redis.ProcessHook {
	return func(ctx context.Context, cmd redis.Cmder) error {
		err := next(ctx, cmd)
		if !h.done && cmd.Name() == h.cmd {
			h.done, h.err = true, h.do()
		}
		return err
	}
}

func (h *afterFirst) ProcessPipelineHook(next redis.ProcessPipelineHook) redis.ProcessPipelineHook {
	return next
}
