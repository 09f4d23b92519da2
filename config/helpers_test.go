package config

import (
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// writeFile writes content to a file in a fresh temporary directory.
func writeFile(t *testing.T, content string) string {
	t.Helper()
	path := filepath.Join(t.TempDir(), "config.yaml")
	if err := os.WriteFile(path, []byte(content), 0o600); err != nil {
		t.Fatal(err)
	}
	return path
}

// fieldErrors flattens the errors.Join tree of err into its FieldErrors.
func fieldErrors(err error) []*FieldError {
	var out []*FieldError
	var walk func(error)
	walk = func(e error) {
		if fe, ok := e.(*FieldError); ok {
			out = append(out, fe)
			return
		}
		if j, ok := e.(interface{ Unwrap() []error }); ok {
			for _, x := range j.Unwrap() {
				walk(x)
			}
		}
	}
	walk(err)
	return out
}

// wantProblem fails t unless err holds a FieldError for key with exactly
// value and a reason containing reason, and its message names both.
func wantProblem(t *testing.T, err error, key, value, reason string) {
	t.Helper()
	if !errors.Is(err, ErrInvalid) {
		t.Errorf("got errors.Is(err, ErrInvalid) false for %v, want true", err)
	}
	for _, fe := range fieldErrors(err) {
		if fe.Key == key && fe.Value == value && strings.Contains(fe.Reason, reason) {
			if msg := err.Error(); !strings.Contains(msg, key) || !strings.Contains(msg, value) {
				t.Errorf("got message %q, want it to name %q and %q", msg, key, value)
			}
			return
		}
	}
	t.Errorf("got %v, want a problem with key %q, value %q, reason containing %q", err, key, value, reason)
}
