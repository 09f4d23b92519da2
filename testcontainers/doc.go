// Package testcontainers holds the integration suite (build tag integration,
// `make test-integration`): the real connector binary, run as a separate
// process, against a real Apache Kafka 4 broker and a real redis-server.
//
// The endpoints come from KAFKA_BROKERS and REDIS_ADDR (for example the ones
// `make services-up` starts); when those are unset and a Docker daemon
// answers, the suite starts apache/kafka and redis containers with
// testcontainers-go. Every scenario checks what arrived in Redis with the
// shared oracle (package oracle) and logs one line per scenario:
//
//	oracle <scenario>: sent=N lost=N duplicated=N out_of_order=N
//
// Environment:
//
//	KAFKA_BROKERS, REDIS_ADDR   the services (both, or neither)
//	KRCDEV_IT_CONTROL_SERVICES=1   allow the scenarios that stop and restart the
//	                            shared broker and redis-server (scripts/services.sh)
//	KRCDEV_IT_LOG_DIR              keep every connector process's output there
//	SCHEMA_REGISTRY_URL         the Confluent API of the registry scripts/schema-registry.sh
//	                            starts (schemaregistry_test.go; its outage scenario stops it)
//	CI=true                     fail, instead of skip, when nothing can run
package testcontainers
