package main

import (
	"io"
	"log/slog"
	"os"
	"syscall"
	"testing"
	"time"
)

// The first signal starts a graceful shutdown; the second stops at once.
func TestStopOnSignals(t *testing.T) {
	sigs := make(chan os.Signal, 2)
	ctx, force, stop := stopOnSignals(sigs, slog.New(slog.NewTextHandler(io.Discard, nil)))
	defer stop()
	select {
	case <-ctx.Done():
		t.Fatal("context canceled before any signal")
	default:
	}
	sigs <- syscall.SIGTERM
	select {
	case <-ctx.Done():
	case <-time.After(5 * time.Second):
		t.Fatal("first signal: got the context still running, want it canceled")
	}
	select {
	case <-force:
		t.Fatal("first signal: got the force channel closed, want it open")
	default:
	}
	sigs <- syscall.SIGINT
	select {
	case <-force:
	case <-time.After(5 * time.Second):
		t.Fatal("second signal: got the force channel open, want it closed")
	}
}
