package connector

import (
	"context"
	"crypto/tls"
	"fmt"
	"net"
	"strings"
	"time"

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
