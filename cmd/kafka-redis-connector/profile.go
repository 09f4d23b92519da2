package main

import (
	"errors"
	"fmt"
	"os"
	"runtime/pprof"
)

// withCPUProfile runs f while a CPU profile of the process is written to
// path ("": no profile); the profile is complete once f returns, so a
// connector stopped by SIGTERM leaves a whole profile of its run behind. The
// bench uses it to profile the connector binary as deployed.
func withCPUProfile(path string, f func() error) error {
	if path == "" {
		return f()
	}
	file, err := os.Create(path)
	if err != nil {
		return fmt.Errorf("cpu profile: %w", err)
	}
	if err := pprof.StartCPUProfile(file); err != nil {
		_ = file.Close()
		return fmt.Errorf("cpu profile: %w", err)
	}
	err = f()
	pprof.StopCPUProfile()
	if cerr := file.Close(); cerr != nil {
		err = errors.Join(err, fmt.Errorf("cpu profile: %w", cerr))
	}
	return err
}
