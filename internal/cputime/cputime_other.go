//go:build !unix

package cputime

import "time"

// Process is unknown on this system: always 0, and callers report wall
// time only.
func Process() time.Duration { return 0 }
