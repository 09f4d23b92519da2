package main

import (
	"bytes"
	"regexp"
	"testing"
)

func TestDemoAvroDecodesThroughTheRegistry(t *testing.T) {
	var stdout, stderr bytes.Buffer
	code := run([]string{"demo", "--format", "avro", "--duration", "2s", "--rate", "500", "--http", ""}, &stdout, &stderr)
	out := stdout.String()
	if code != 0 {
		t.Fatalf("demo exit code: got %d, want 0\nstdout:\n%s\nstderr:\n%s", code, out, stderr.String())
	}
	for _, re := range []string{
		`(?m)^summary: produced=[1-9]\d* written=\d+ lost=0 duplicated=\d+ out_of_order=0 produce_errors=0$`,
		// The decoded fields, not the wire bytes: an enum by name, a
		// timestamp-micros as RFC 3339, a null union branch as null.
		`(?m)^avro: first entry of \S+: event_id=\d+ type=page_view user=user-\d+ at=\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d+Z referrer=(null|https://example.com/) partition=\d offset=\d+$`,
	} {
		if !regexp.MustCompile(re).MatchString(out) {
			t.Errorf("demo output does not match %s:\n%s", re, out)
		}
	}
}

func TestDemoRejectsUnknownFormat(t *testing.T) {
	var stdout, stderr bytes.Buffer
	if code := run([]string{"demo", "--format", "protobuf"}, &stdout, &stderr); code != 2 {
		t.Errorf("got exit code %d, want 2", code)
	}
}
