package connector

import (
	"context"
	"errors"
	"log/slog"

	"github.com/failsafe-go/failsafe-go"
	"github.com/failsafe-go/failsafe-go/circuitbreaker"
	"github.com/failsafe-go/failsafe-go/retrypolicy"
	"github.com/failsafe-go/failsafe-go/timeout"

	"github.com/kafka-redis-connector/kafka-redis-connector/config"
	"github.com/kafka-redis-connector/kafka-redis-connector/sink"
)

// flushPolicy is retry ∘ circuit breaker ∘ timeout around one write attempt.
type flushPolicy struct {
	breaker circuitbreaker.CircuitBreaker[sink.Result]
	exec    failsafe.Executor[sink.Result]
}

// failedAttempt is what the breaker and the retry count as a failure:
// anything but success and the caller giving up.
func failedAttempt(_ sink.Result, err error) bool {
	return err != nil && !errors.Is(err, context.Canceled)
}

func newFlushPolicy(cfg config.Config, c *counters, m *Metrics, log *slog.Logger) *flushPolicy {
	breaker := circuitbreaker.NewBuilder[sink.Result]().
		HandleIf(failedAttempt).
		WithFailureThreshold(cfg.CircuitBreaker.FailureThreshold).
		WithDelay(cfg.CircuitBreaker.Recovery).
		WithSuccessThreshold(cfg.CircuitBreaker.SuccessThreshold).
		OnStateChanged(func(e circuitbreaker.StateChangedEvent) {
			s := BreakerClosed
			switch e.NewState {
			case circuitbreaker.OpenState:
				s = BreakerOpen
				c.trips.Add(1)
				m.BreakerTrips.Inc()
			case circuitbreaker.HalfOpenState:
				s = BreakerHalfOpen
			}
			c.breaker.Store(int32(s))
			m.BreakerState.Set(float64(s))
			log.Warn("circuit breaker state changed", "from", BreakerStateOf(e.OldState).String(), "to", s.String())
		}).
		Build()
	retry := retrypolicy.NewBuilder[sink.Result]().
		HandleIf(func(_ sink.Result, err error) bool {
			return sink.Retryable(err) || errors.Is(err, timeout.ErrExceeded)
		}).
		// An open breaker will not let the next attempt through either;
		// the connector waits for its recovery delay instead.
		AbortOnErrors(circuitbreaker.ErrOpen, context.Canceled).
		WithMaxAttempts(cfg.Retry.MaxAttempts).
		WithBackoff(cfg.Retry.InitialBackoff, cfg.Retry.MaxBackoff).
		WithJitterFactor(0.2).
		ReturnLastFailure().
		Build()
	return &flushPolicy{
		breaker: breaker,
		exec:    failsafe.With[sink.Result](retry, breaker, timeout.New[sink.Result](cfg.FlushTimeout)),
	}
}

// BreakerStateOf converts a failsafe-go breaker state.
func BreakerStateOf(s circuitbreaker.State) BreakerState {
	switch s {
	case circuitbreaker.OpenState:
		return BreakerOpen
	case circuitbreaker.HalfOpenState:
		return BreakerHalfOpen
	}
	return BreakerClosed
}
