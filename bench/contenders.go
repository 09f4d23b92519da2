package bench

import (
	"context"
	"fmt"
	"path/filepath"

	"github.com/kafka-redis-connector/kafka-redis-connector/config"
)

// contender is one thing every round measures.
type contender struct {
	name string
	// brokerInProcess says its CPU and RSS figures are the bench
	// process's, which holds the broker when it is embedded.
	brokerInProcess bool
	run             func(round int) (Measurement, error)
}

// contenders lists what a run measures, in the order each round runs them
// and the report lists them. Another contender (a format, a client) is one
// more entry; the bench line names only the ones it always had.
func (e *env) contenders(ctx context.Context, backlog string) []contender {
	tuned := e.cfg.Tuned
	list := []contender{
		{name: "ceiling", run: func(int) (Measurement, error) { return e.runCeiling(ctx, backlog) }},
		{name: "raw", run: func(int) (Measurement, error) { return e.runRaw(ctx, backlog) }},
		{name: "naive", brokerInProcess: true, run: func(round int) (Measurement, error) { return e.runNaive(ctx, backlog, round) }},
		e.connectorContender(ctx, "default", nil, backlog),
		e.connectorContender(ctx, "tuned", &tuned, backlog),
	}
	if e.cfg.ExactlyOnce && e.cfg.ConnectorBinary != "" {
		// The tuned connector with delivery.guarantee exactly_once, as
		// deployed (the built binary), so both guarantees are measured in
		// one run; issue 13's rule 5 compares it with tuned.
		list = append(list, contender{name: "tuned-exactly-once", run: func(round int) (Measurement, error) {
			return e.runChild(ctx, "tuned-exactly-once", &tuned, backlog, round, nil, "KRC_DELIVERY_GUARANTEE=exactly_once")
		}})
	}
	return list
}

// connectorContender is the connector with the given batch settings (nil:
// none, the connector's defaults): the built binary in a process of its own
// when there is one, else in this process.
func (e *env) connectorContender(ctx context.Context, name string, batch *config.Batch, backlog string) contender {
	if e.cfg.ConnectorBinary != "" {
		return contender{name: name, run: func(round int) (Measurement, error) {
			return e.runChild(ctx, name, batch, backlog, round, nil)
		}}
	}
	b := config.Default().Batch
	if batch != nil {
		b = *batch
	}
	return contender{name: name, brokerInProcess: true, run: func(round int) (Measurement, error) {
		m, err := e.runConnector(ctx, name, b, backlog, profiles{}, round)
		m.Note = joinNote(m.Note, "in the bench process: CPU and RSS include the bench")
		return m, err
	}}
}

// profile profiles one more tuned drain, if a profile was asked for: the
// CPU profile is the connector binary's own (`run --cpuprofile`, the whole
// life of the process: start-up, the drain, shutdown) when the contenders
// run as the binary; the heap profile, and the CPU profile without a
// binary, are of a drain in this process.
func (e *env) profile(ctx context.Context, backlog string) error {
	cpu := e.cfg.CPUProfile
	if cpu != "" && e.cfg.ConnectorBinary != "" {
		path, err := filepath.Abs(cpu)
		if err != nil {
			return fmt.Errorf("profile: %w", err)
		}
		fmt.Fprintf(e.log, "bench: profiling a tuned drain of the connector binary ...\n")
		tuned := e.cfg.Tuned
		// A round above 1 skips the paced phase.
		m, err := e.runChild(ctx, "tuned-profile", &tuned, backlog, 2, []string{"--cpuprofile", path})
		if err != nil {
			return fmt.Errorf("profile: %w", err)
		}
		fmt.Fprintf(e.log, "bench: profiled drain: %.0f events/s, %.2f µs CPU/event (connector process)\n", m.EventsPerSec, m.CPUUsPerEvent)
		cpu = ""
	}
	if cpu == "" && e.cfg.HeapProfile == "" {
		return nil
	}
	fmt.Fprintf(e.log, "bench: profiling a tuned drain in the bench process ...\n")
	m, err := e.runConnector(ctx, "tuned-profile-inproc", e.cfg.Tuned, backlog,
		profiles{cpu: cpu, heap: e.cfg.HeapProfile}, 2)
	if err != nil {
		return fmt.Errorf("profile: %w", err)
	}
	fmt.Fprintf(e.log, "bench: profiled drain: %.0f events/s, %.2f µs CPU/event (bench process)\n", m.EventsPerSec, m.CPUUsPerEvent)
	return nil
}
