package config

import (
	"errors"
	"fmt"
	"reflect"
	"strconv"
	"strings"
	"time"
	"unicode"
)

// ErrInvalid is matched by every *FieldError, so callers can tell a bad
// configuration (exit 2) from other failures with errors.Is.
var ErrInvalid = errors.New("config: invalid configuration")

// FieldError is one problem with one configuration key or environment
// variable.
type FieldError struct {
	// Key is the dotted key path (kafka.brokers) or, for an unknown
	// environment variable, the variable's name.
	Key string
	// Value is the offending value as shown to the user: strings quoted
	// when empty or containing spaces, lists as [a, b], durations as 100ms.
	// Secrets show as [redacted]. Empty when there is no value to show.
	Value string
	// Reason says what is wrong, in lowercase.
	Reason string
}

// Error renders "config: KEY = VALUE: REASON", or "config: KEY: REASON"
// when there is no value to show.
func (e *FieldError) Error() string {
	if e.Value == "" {
		return fmt.Sprintf("config: %s: %s", e.Key, e.Reason)
	}
	return fmt.Sprintf("config: %s = %s: %s", e.Key, e.Value, e.Reason)
}

// Is reports whether target is ErrInvalid.
func (e *FieldError) Is(target error) bool { return target == ErrInvalid }

// redactedText replaces secrets in Redacted output and in error values.
const redactedText = "[redacted]"

// display renders a value for a FieldError the way a user would write it.
func display(v any) string {
	switch x := v.(type) {
	case nil:
		return "null"
	case string:
		return quoteIfNeeded(x)
	case time.Duration:
		return formatDuration(x)
	case []string:
		parts := make([]string, len(x))
		for i, s := range x {
			parts[i] = quoteIfNeeded(s)
		}
		return "[" + strings.Join(parts, ", ") + "]"
	case []any:
		parts := make([]string, len(x))
		for i, e := range x {
			parts[i] = display(e)
		}
		return "[" + strings.Join(parts, ", ") + "]"
	case map[string]any:
		return "{...}"
	}
	if rv := reflect.ValueOf(v); rv.Kind() == reflect.Map {
		return "{...}"
	}
	return fmt.Sprint(v)
}

// quoteIfNeeded quotes strings that would be ambiguous unquoted in a
// message: empty ones, and ones with spaces, quotes, commas or brackets.
func quoteIfNeeded(s string) string {
	if s == redactedText {
		return s
	}
	if s == "" || strings.ContainsAny(s, "\",[]") {
		return strconv.Quote(s)
	}
	for _, r := range s {
		if unicode.IsSpace(r) || !unicode.IsPrint(r) {
			return strconv.Quote(s)
		}
	}
	return s
}

// formatDuration writes d in the largest of s, ms, us, ns that divides it
// exactly ("60s", "100ms"), which reads better than "1m0s" and parses back
// with time.ParseDuration.
func formatDuration(d time.Duration) string {
	switch {
	case d == 0:
		return "0s"
	case d%time.Second == 0:
		return strconv.FormatInt(int64(d/time.Second), 10) + "s"
	case d%time.Millisecond == 0:
		return strconv.FormatInt(int64(d/time.Millisecond), 10) + "ms"
	case d%time.Microsecond == 0:
		return strconv.FormatInt(int64(d/time.Microsecond), 10) + "us"
	}
	return strconv.FormatInt(int64(d), 10) + "ns"
}
