//go:build integration

package testcontainers

import (
	"context"
	"fmt"
	"time"

	tc "github.com/testcontainers/testcontainers-go"
	tcredis "github.com/testcontainers/testcontainers-go/modules/redis"
	"github.com/testcontainers/testcontainers-go/wait"
)

// The Docker path runs the same Kafka line as scripts/services.sh and Redis 7.
//
// Kafka is a plain container, not testcontainers-go's kafka module: at
// v0.40.0 that module's start script is written for Confluent images
// (/etc/confluent/docker) and cannot start apache/kafka.
const (
	kafkaImage = "apache/kafka:4.1.1"
	redisImage = "redis:7"

	// kafkaPort is the listener published to the host; its advertised
	// address is only known once Docker has mapped it, so the broker is
	// started by a script copied in after the container starts.
	kafkaPort    = "9092/tcp"
	kafkaStarter = "/tmp/krc_kafka_start.sh"
)

// dockerUnavailable returns why Docker cannot be used, or "" when it answers.
func dockerUnavailable(ctx context.Context) (why string) {
	defer func() {
		// testcontainers-go panics on some hosts without a Docker socket.
		if r := recover(); r != nil {
			why = fmt.Sprint(r)
		}
	}()
	p, err := tc.NewDockerProvider()
	if err != nil {
		return err.Error()
	}
	defer p.Close()
	ctx, cancel := context.WithTimeout(ctx, 10*time.Second)
	defer cancel()
	if err := p.Health(ctx); err != nil {
		return err.Error()
	}
	return ""
}

// startContainers starts Kafka and Redis and points svc at them.
func startContainers(ctx context.Context) (stop func(), err error) {
	var started []tc.Container
	stop = func() {
		for _, c := range started {
			_ = tc.TerminateContainer(c)
		}
	}
	defer func() {
		if err != nil {
			stop()
		}
	}()

	kc, err := tc.Run(ctx, kafkaImage,
		tc.WithExposedPorts(kafkaPort),
		tc.WithEnv(map[string]string{
			"KAFKA_NODE_ID":                                          "1",
			"KAFKA_PROCESS_ROLES":                                    "broker,controller",
			"KAFKA_LISTENERS":                                        "PLAINTEXT://0.0.0.0:9092,BROKER://0.0.0.0:9093,CONTROLLER://0.0.0.0:9094",
			"KAFKA_LISTENER_SECURITY_PROTOCOL_MAP":                   "PLAINTEXT:PLAINTEXT,BROKER:PLAINTEXT,CONTROLLER:PLAINTEXT",
			"KAFKA_INTER_BROKER_LISTENER_NAME":                       "BROKER",
			"KAFKA_CONTROLLER_LISTENER_NAMES":                        "CONTROLLER",
			"KAFKA_CONTROLLER_QUORUM_VOTERS":                         "1@localhost:9094",
			"KAFKA_OFFSETS_TOPIC_REPLICATION_FACTOR":                 "1",
			"KAFKA_OFFSETS_TOPIC_NUM_PARTITIONS":                     "10",
			"KAFKA_TRANSACTION_STATE_LOG_REPLICATION_FACTOR":         "1",
			"KAFKA_TRANSACTION_STATE_LOG_MIN_ISR":                    "1",
			"KAFKA_SHARE_COORDINATOR_STATE_TOPIC_REPLICATION_FACTOR": "1",
			"KAFKA_SHARE_COORDINATOR_STATE_TOPIC_MIN_ISR":            "1",
			"KAFKA_GROUP_INITIAL_REBALANCE_DELAY_MS":                 "0",
			"KAFKA_AUTO_CREATE_TOPICS_ENABLE":                        "true",
		}),
		tc.WithEntrypoint("sh"),
		tc.WithCmd("-c", "while [ ! -f "+kafkaStarter+" ]; do sleep 0.1; done; exec sh "+kafkaStarter),
		tc.WithLifecycleHooks(tc.ContainerLifecycleHooks{
			PostStarts: []tc.ContainerHook{startKafkaBroker},
		}),
	)
	if kc != nil {
		started = append(started, kc)
	}
	if err != nil {
		return nil, fmt.Errorf("kafka container (%s): %w", kafkaImage, err)
	}
	broker, err := kc.PortEndpoint(ctx, kafkaPort, "")
	if err != nil {
		return nil, fmt.Errorf("kafka container endpoint: %w", err)
	}

	rc, err := tcredis.Run(ctx, redisImage)
	if rc != nil {
		started = append(started, rc)
	}
	if err != nil {
		return nil, fmt.Errorf("redis container (%s): %w", redisImage, err)
	}
	redisAddr, err := rc.PortEndpoint(ctx, "6379/tcp", "")
	if err != nil {
		return nil, fmt.Errorf("redis container endpoint: %w", err)
	}

	svc.brokers = []string{broker}
	svc.redisAddr = redisAddr
	return stop, nil
}

// startKafkaBroker writes the start script, now that the host port is known,
// and waits for the broker to come up.
func startKafkaBroker(ctx context.Context, c tc.Container) error {
	if err := wait.ForMappedPort(kafkaPort).WaitUntilReady(ctx, c); err != nil {
		return fmt.Errorf("wait for mapped port: %w", err)
	}
	host, err := c.Host(ctx)
	if err != nil {
		return err
	}
	port, err := c.MappedPort(ctx, kafkaPort)
	if err != nil {
		return err
	}
	script := fmt.Sprintf("export KAFKA_ADVERTISED_LISTENERS=PLAINTEXT://%s:%s,BROKER://localhost:9093\n"+
		"exec /etc/kafka/docker/run\n", host, port.Port())
	if err := c.CopyToContainer(ctx, []byte(script), kafkaStarter, 0o755); err != nil {
		return fmt.Errorf("copy start script: %w", err)
	}
	return wait.ForLog("Kafka Server started").WithStartupTimeout(3*time.Minute).WaitUntilReady(ctx, c)
}
