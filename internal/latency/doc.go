// Package latency is the one latency instrument of the project: the
// connector's end-to-end latency (/stats, the demo), the load generator's
// read-back and every contender of the benchmark record into the same
// Histogram, so their figures compare like with like.
//
// A Histogram counts durations in log-linear buckets of microseconds, HDR
// style (exact below 64µs, then 32 sub-buckets per power of two: about 3%
// precision, up to about a year), and keeps the exact maximum. Recording
// is a few atomic operations, safe from any number of goroutines. Reading
// goes through a Snapshot (Counts): quantiles, mean, maximum, and Sub for
// the distribution of one window (the difference of two snapshots rather
// than an average of averages).
package latency
