package main

import (
	"errors"
	"fmt"
	"io"
	"os"
)

// version is set at build time (-ldflags "-X main.version=...").
var version = "dev"

// Exit codes: 0 ok, 1 runtime failure, 2 bad configuration or usage.
const (
	exitOK      = 0
	exitFailure = 1
	exitUsage   = 2
)

// usageError marks errors that exit with code 2.
type usageError struct{ err error }

func (e usageError) Error() string { return e.err.Error() }
func (e usageError) Unwrap() error { return e.err }

const usage = `kafka-redis-connector — Kafka consumer group to Redis Streams

Usage:
  kafka-redis-connector run [--config FILE]       run the connector (no file: defaults + KRC_* env)
  kafka-redis-connector validate [--config FILE]  print the effective config (secrets redacted) or every error
  kafka-redis-connector demo [flags]              in-process Kafka + Redis + producer + connector, with a live line
  kafka-redis-connector loadgen [flags]           produce test events at a rate; --verify REDIS checks them in Redis
  kafka-redis-connector bench [flags]             measure throughput, CPU, memory and latency against Redis
  kafka-redis-connector decrypt [flags]           print encrypted stream entries decrypted (see docs/SECURITY.md)
  kafka-redis-connector dry-run [flags]           print what the connector would write for a few records; writes nothing
  kafka-redis-connector offsets [--config FILE]   committed, end and (exactly_once) Redis-stored offsets
  kafka-redis-connector offsets reset --to-earliest|--to-time T --yes [--config FILE]
                                                  move the group and the stored offsets back together
  kafka-redis-connector version                   print the version

Run 'kafka-redis-connector COMMAND --help' for a command's flags.
Exit codes: 0 ok, 1 runtime failure, 2 bad configuration or usage.
`

func main() {
	os.Exit(run(os.Args[1:], os.Stdout, os.Stderr))
}

func run(args []string, stdout, stderr io.Writer) int {
	if len(args) == 0 {
		fmt.Fprint(stderr, usage)
		return exitUsage
	}
	var err error
	switch args[0] {
	case "run":
		err = cmdRun(args[1:], stdout, stderr)
	case "validate":
		err = cmdValidate(args[1:], stdout, stderr)
	case "demo":
		err = cmdDemo(args[1:], stdout, stderr)
	case "loadgen":
		err = cmdLoadgen(args[1:], stdout, stderr)
	case "bench":
		err = cmdBench(args[1:], stdout, stderr)
	case "decrypt":
		err = cmdDecrypt(args[1:], stdout, stderr)
	case "dry-run":
		err = cmdDryRun(args[1:], stdout, stderr)
	case "offsets":
		err = cmdOffsets(args[1:], stdout, stderr)
	case "version", "--version", "-v":
		fmt.Fprintf(stdout, "kafka-redis-connector %s\n", version)
	case "help", "--help", "-h":
		fmt.Fprint(stdout, usage)
	default:
		fmt.Fprintf(stderr, "kafka-redis-connector: unknown command %q\n\n%s", args[0], usage)
		return exitUsage
	}
	if err == nil {
		return exitOK
	}
	var ue usageError
	if errors.As(err, &ue) {
		if !errors.Is(err, errHelp) {
			fmt.Fprintf(stderr, "kafka-redis-connector %s: %v\n", args[0], err)
		}
		return exitUsage
	}
	fmt.Fprintf(stderr, "kafka-redis-connector %s: %v\n", args[0], err)
	return exitFailure
}
