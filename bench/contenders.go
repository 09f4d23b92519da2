package bench

import (
	"context"
	"fmt"

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
			return e.runChild(ctx, "tuned-exactly-once", &tuned, backlog, round, "KRC_DELIVERY_GUARANTEE=exactly_once")
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
			return e.runChild(ctx, name, batch, backlog, round)
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

// profileInProcess profiles one more tuned drain in this process, if a
// profile was asked for: a profile of a child process would need the
// connector's cooperation, and the code on the hot path is the same.
func (e *env) profileInProcess(ctx context.Context, backlog string) error {
	if e.cfg.CPUProfile == "" && e.cfg.HeapProfile == "" {
		return nil
	}
	fmt.Fprintf(e.log, "bench: profiling a tuned drain in the bench process ...\n")
	// A round above 1 skips the paced phase.
	m, err := e.runConnector(ctx, "tuned-profile", e.cfg.Tuned, backlog,
		profiles{cpu: e.cfg.CPUProfile, heap: e.cfg.HeapProfile}, 2)
	if err != nil {
		return fmt.Errorf("profile: %w", err)
	}
	fmt.Fprintf(e.log, "bench: profiled drain: %.0f events/s, %.2f µs CPU/event (bench process)\n", m.EventsPerSec, m.CPUUsPerEvent)
	return nil
}
