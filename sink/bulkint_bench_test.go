package sink

import "testing"

// BenchmarkAppendBulkInt is one record's three metadata numbers - its
// partition, offset and timestamp in milliseconds - as appendRESPFields
// encodes them.
func BenchmarkAppendBulkInt(b *testing.B) {
	buf := make([]byte, 0, 64)
	b.ReportAllocs()
	cpu0 := processCPU()
	for i := int64(0); b.Loop(); i++ {
		buf, _ = appendBulkInt(buf[:0], 3)
		buf, _ = appendBulkInt(buf, 125000+i&1023)
		buf, _ = appendBulkInt(buf, 1700000000000+i&1023)
	}
	reportPerRecord(b, cpu0, 1)
}
