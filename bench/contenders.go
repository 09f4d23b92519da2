package bench

import (
	"context"

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
	return []contender{
		{name: "ceiling", run: func(int) (Measurement, error) { return e.runCeiling(ctx, backlog) }},
		{name: "raw", run: func(int) (Measurement, error) { return e.runRaw(ctx, backlog) }},
		{name: "naive", brokerInProcess: true, run: func(round int) (Measurement, error) { return e.runNaive(ctx, backlog, round) }},
		e.connectorContender(ctx, "default", nil, backlog),
		e.connectorContender(ctx, "tuned", &tuned, backlog),
	}
}

// connectorContender is the connector with the given batch settings (nil:
// none, the connector's defaults), in this process.
func (e *env) connectorContender(ctx context.Context, name string, batch *config.Batch, backlog string) contender {
	b := config.Default().Batch
	if batch != nil {
		b = *batch
	}
	return contender{name: name, brokerInProcess: true, run: func(round int) (Measurement, error) {
		var prof profiles
		if name == "tuned" && round == 1 {
			prof = profiles{cpu: e.cfg.CPUProfile, heap: e.cfg.HeapProfile}
		}
		return e.runConnector(ctx, name, b, backlog, prof, round)
	}}
}
