package connector

import (
	"context"
	"crypto/tls"
	"fmt"
	"net"
	"strings"
	"sync"
	"time"
	"unsafe"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/twmb/franz-go/pkg/kgo"
	"github.com/twmb/franz-go/pkg/sasl"
	"github.com/twmb/franz-go/pkg/sasl/oauth"
	"github.com/twmb/franz-go/pkg/sasl/plain"
	"github.com/twmb/franz-go/pkg/sasl/scram"
	"github.com/twmb/franz-go/plugin/kprom"

	"github.com/kafka-redis-connector/kafka-redis-connector/config"
)

// SecurityOpts returns the franz-go options for kafka.tls and kafka.sasl.
func SecurityOpts(k config.Kafka) ([]kgo.Opt, error) {
	var opts []kgo.Opt
	if k.TLS.Enabled {
		tc, err := k.TLS.ClientConfig()
		if err != nil {
			return nil, fmt.Errorf("connector: kafka tls: %w", err)
		}
		dialer := &tls.Dialer{NetDialer: &net.Dialer{Timeout: 10 * time.Second}, Config: tc}
		opts = append(opts, kgo.Dialer(dialer.DialContext))
	}
	mech, err := saslMechanism(k.SASL)
	if err != nil {
		return nil, err
	}
	if mech != nil {
		opts = append(opts, kgo.SASL(mech))
	}
	return opts, nil
}

func saslMechanism(s config.SASL) (sasl.Mechanism, error) {
	mech := strings.ToUpper(s.Mechanism)
	if mech == "" {
		return nil, nil
	}
	if mech == "OAUTHBEARER" {
		// The token is read at every authentication, so a rotated token
		// file is picked up on the next connection.
		return oauth.Oauth(func(context.Context) (oauth.Auth, error) {
			tok, err := config.ReadSecret("", s.TokenFile)
			if err != nil {
				return oauth.Auth{}, fmt.Errorf("connector: kafka.sasl.token_file: %w", err)
			}
			return oauth.Auth{Token: tok}, nil
		}), nil
	}
	password, err := config.ReadSecret(s.Password, s.PasswordFile)
	if err != nil {
		return nil, fmt.Errorf("connector: kafka.sasl password: %w", err)
	}
	switch mech {
	case "PLAIN":
		return plain.Auth{User: s.Username, Pass: password}.AsMechanism(), nil
	case "SCRAM-SHA-256":
		return scram.Auth{User: s.Username, Pass: password}.AsSha256Mechanism(), nil
	case "SCRAM-SHA-512":
		return scram.Auth{User: s.Username, Pass: password}.AsSha512Mechanism(), nil
	}
	return nil, fmt.Errorf("connector: unknown kafka.sasl.mechanism %q", s.Mechanism)
}

// KafkaMetrics returns the option that exports franz-go's client metrics
// (kprom) under krc_kafka_ on reg.
func KafkaMetrics(reg prometheus.Registerer) []kgo.Opt {
	m := kprom.NewMetrics("krc", kprom.Subsystem("kafka"), kprom.Registerer(reg))
	return []kgo.Opt{kgo.WithHooks(m)}
}

// maxConcurrentFetches is how many fetches the client may have in flight
// or buffered at once (franz-go counts a fetch until it is polled empty,
// and has at most one per broker).
const maxConcurrentFetches = 2

// recordOverhead is what franz-go holds for a fetched record besides its
// bytes: its kgo.Record and the pointer to it.
const recordOverhead = int64(unsafe.Sizeof(kgo.Record{})) + 8

const (
	// initialFetchRatio is the memory per wire byte assumed before the
	// first batch is read: high, so that the first fetch stays within
	// kafka.fetch_buffer_bytes for data that compresses this well.
	initialFetchRatio = 16
	// minFetchWireBytes is the least a fetch asks for.
	minFetchWireBytes = 16 << 10
	// maxPartitionWireBytes is franz-go's default per-partition cap.
	maxPartitionWireBytes = 1 << 20
)

// fetchSizer sizes fetch requests so that what one fetch holds in memory
// stays within kafka.fetch_buffer_bytes whatever the compression ratio:
// the response body, the records decompressed (for compressed batches)
// and a kgo.Record each. It learns the ratio of memory to wire bytes from
// the batches read (franz-go's HookFetchBatchRead), jumping to a higher
// ratio at once and decaying slowly to a lower one, and asks the broker
// for kafka.fetch_buffer_bytes / ratio (at most kafka.fetch_max_bytes).
// A fetch still carries at least one whole batch, as brokers do.
type fetchSizer struct {
	budget, maxWire int64

	mu    sync.Mutex
	ratio float64
	wire  int64 // what fetches ask for now
	cl    *kgo.Client
}

var _ kgo.HookFetchBatchRead = (*fetchSizer)(nil)

func newFetchSizer(k config.Kafka) *fetchSizer {
	s := &fetchSizer{budget: int64(k.FetchBufferBytes), maxWire: int64(k.FetchMaxBytes), ratio: initialFetchRatio}
	if s.budget <= 0 {
		// A Config built field by field before the key existed.
		s.budget = int64(config.Default().Kafka.FetchBufferBytes)
	}
	s.wire = s.wireFor(s.ratio)
	return s
}

// opts returns the client's initial fetch limits and the hook.
func (s *fetchSizer) opts() []kgo.Opt {
	return []kgo.Opt{
		kgo.FetchMaxBytes(int32(s.wire)),
		kgo.FetchMaxPartitionBytes(int32(min(s.wire, maxPartitionWireBytes))),
		kgo.MaxConcurrentFetches(maxConcurrentFetches),
		kgo.WithHooks(s),
	}
}

// attach makes size changes apply to cl, from the one learnt before it
// was built on.
func (s *fetchSizer) attach(cl *kgo.Client) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.cl = cl
	cl.UpdateFetchMaxBytes(int32(s.wire), int32(min(s.wire, maxPartitionWireBytes)))
}

func (s *fetchSizer) wireFor(ratio float64) int64 {
	return min(max(int64(float64(s.budget)/ratio), minFetchWireBytes), s.maxWire)
}

// OnFetchBatchRead learns the ratio from one batch read.
func (s *fetchSizer) OnFetchBatchRead(_ kgo.BrokerMetadata, _ string, _ int32, m kgo.FetchBatchMetrics) {
	if m.CompressedBytes <= 0 || m.NumRecords <= 0 {
		return
	}
	wire, mem := s.observe(m)
	if mem == 0 {
		return
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.cl != nil {
		s.cl.UpdateFetchMaxBytes(int32(wire), int32(min(wire, maxPartitionWireBytes)))
	}
}

// observe updates the ratio with batch m and returns the new fetch size
// and the ratio it follows from; mem is 0 when the size stays.
func (s *fetchSizer) observe(m kgo.FetchBatchMetrics) (wire int64, mem float64) {
	held := int64(m.CompressedBytes) + int64(m.NumRecords)*recordOverhead
	if m.CompressionType != 0 {
		held += int64(m.UncompressedBytes) // the body is dropped once decompressed, but not before
	}
	r := float64(held) / float64(m.CompressedBytes)
	s.mu.Lock()
	defer s.mu.Unlock()
	if r > s.ratio {
		s.ratio = r
	} else {
		s.ratio += (r - s.ratio) / 16
	}
	wire = s.wireFor(s.ratio)
	// A smaller size applies at once; a larger one only when it is an
	// eighth larger or reaches kafka.fetch_max_bytes, so that slow decay
	// does not update the client at every batch.
	if wire == s.wire || wire > s.wire && (wire-s.wire)*8 < s.wire && wire != s.maxWire {
		return s.wire, 0
	}
	s.wire = wire
	return wire, s.ratio
}

// MemoryBound is roughly the most memory, in RSS, the connector process
// holds with cfg: a base for the executable, the runtime, the clients and
// the metrics, plus maxConcurrentFetches fetches of
// kafka.fetch_buffer_bytes, plus what the lanes hold
// (batch.max_buffered_bytes, and a kgo.Record for each of the most records
// they hold), plus the encoding of each flush in flight (up to twice
// batch.max_bytes while its buffer grows).
func MemoryBound(cfg config.Config) int64 {
	k, b := cfg.Kafka, cfg.Batch
	fetch := int64(k.FetchBufferBytes)
	if fetch <= 0 {
		fetch = int64(config.Default().Kafka.FetchBufferBytes)
	}
	buffered := int64(b.MaxBufferedBytes)
	if buffered <= 0 {
		buffered = int64(config.Default().Batch.MaxBufferedBytes)
	}
	lanes := int64(inflightCap(b))
	_, most := bufferLimits(eventsCap(b), inflightCap(b))
	records := int64(most)
	return memoryBase + maxConcurrentFetches*fetch + buffered + records*recordOverhead + lanes*2*int64(bytesCap(b))
}

// memoryBase is what the process holds at rest, executable pages included.
const memoryBase = 32 << 20

// ExecutableBytes is the part of memoryBase the Go runtime does not count
// (the executable's own pages): the soft memory limit `run` gives the
// runtime is MemoryBound less this.
const ExecutableBytes = 16 << 20
