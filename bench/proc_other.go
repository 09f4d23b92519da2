//go:build !unix

package bench

func resetPeakRSS() bool { return false }
func peakRSS() uint64    { return 0 }
