package sink

import (
	"testing"

	"github.com/kafka-redis-connector/kafka-redis-connector/config"
)

// MappingForBenchmark returns the FieldMapping a Writer built with opts
// uses, for tests outside the package.
func MappingForBenchmark(tb testing.TB, cfg config.Stream, opts ...WriterOption) *FieldMapping {
	tb.Helper()
	w, err := NewWriter(nil, cfg, opts...)
	if err != nil {
		tb.Fatal(err)
	}
	return w.mapping
}
