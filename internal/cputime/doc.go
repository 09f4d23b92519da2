// Package cputime reads the CPU time this process has used, the one
// counter the benchmarks of the connector and sink packages and the bench
// report per event: on a shared machine it does not count the time other
// processes held the cores, as wall time does.
package cputime
