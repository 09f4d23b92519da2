package main

import (
	"bytes"
	"errors"
	"os"
	"path/filepath"
	"testing"
)

func TestWithCPUProfile(t *testing.T) {
	t.Run("writes a whole profile once f returns, and returns f's error", func(t *testing.T) {
		path := filepath.Join(t.TempDir(), "cpu.pprof")
		want := errors.New("stopped")
		err := withCPUProfile(path, func() error {
			if _, err := os.Stat(path); err != nil {
				t.Errorf("profile file while running: %v", err)
			}
			return want
		})
		if !errors.Is(err, want) {
			t.Fatalf("got error %v, want %v", err, want)
		}
		b, err := os.ReadFile(path)
		if err != nil {
			t.Fatal(err)
		}
		// A pprof profile is a gzipped protocol buffer: complete only after
		// StopCPUProfile wrote the gzip trailer.
		if !bytes.HasPrefix(b, []byte{0x1f, 0x8b}) || len(b) < 20 {
			t.Fatalf("got %d bytes starting %x, want a gzipped profile", len(b), b[:min(len(b), 4)])
		}
	})
	t.Run("no path, no profile", func(t *testing.T) {
		ran := false
		if err := withCPUProfile("", func() error { ran = true; return nil }); err != nil || !ran {
			t.Fatalf("got ran=%v err=%v, want ran=true err=nil", ran, err)
		}
	})
	t.Run("an unwritable path fails before f runs", func(t *testing.T) {
		path := filepath.Join(t.TempDir(), "no-such-dir", "cpu.pprof")
		ran := false
		err := withCPUProfile(path, func() error { ran = true; return nil })
		if err == nil || ran {
			t.Fatalf("got ran=%v err=%v, want an error and f not run", ran, err)
		}
	})
}
