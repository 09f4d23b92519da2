package main

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"os/signal"
	"slices"
	"strings"
	"syscall"
	"unicode/utf8"

	"github.com/redis/go-redis/v9"

	"github.com/kafka-redis-connector/kafka-redis-connector/encryption"
	"github.com/kafka-redis-connector/kafka-redis-connector/sink"
)

// stringList is a repeatable string flag.
type stringList []string

func (l *stringList) String() string     { return strings.Join(*l, ",") }
func (l *stringList) Set(v string) error { *l = append(*l, v); return nil }

func cmdDecrypt(args []string, stdout, stderr io.Writer) error {
	fs := flag.NewFlagSet("decrypt", flag.ContinueOnError)
	file := fs.String("config", "", "YAML config `file` (default: defaults + KRC_* environment); its encryption.keys, stream and redis sections are used")
	var keys stringList
	fs.Var(&keys, "key", "`ID=FILE` of a key, in addition to encryption.keys (repeatable)")
	stream := fs.String("stream", "", "read the entries of stream `KEY` from Redis and print them decrypted, one JSON object a line")
	start := fs.String("start", "-", "first entry `ID` (XRANGE start)")
	end := fs.String("end", "+", "last entry `ID` (XRANGE end)")
	count := fs.Int("count", 0, "print at most `N` entries (0: all)")
	field := fs.String("field", "", "decrypt one sealed value (raw bytes) of entry field `NAME` to stdout; needs --key-id")
	keyID := fs.String("key-id", "", "key `ID` the value was sealed with (with --field)")
	in := fs.String("in", "-", "read the sealed value (with --field) from `FILE`; - is stdin")
	fs.Usage = func() {
		fmt.Fprint(fs.Output(), `Usage:
  kafka-redis-connector decrypt [--config FILE] [--key ID=FILE]... --stream KEY [--start ID] [--end ID] [--count N]
  kafka-redis-connector decrypt [--config FILE] [--key ID=FILE]... --field NAME --key-id ID [--in FILE] > plain

`)
		fs.PrintDefaults()
	}
	if err := parseFlags(fs, args, stderr); err != nil {
		return err
	}
	switch {
	case (*stream == "") == (*field == ""):
		return usageError{errors.New("give exactly one of --stream or --field")}
	case *field != "" && *keyID == "":
		return usageError{errors.New("--field needs --key-id")}
	case *count < 0:
		return usageError{errors.New("--count must not be negative")}
	}
	cfg, err := loadConfig(*file)
	if err != nil {
		return err
	}
	ring, err := encryption.LoadKeyring(append(slices.Clone(cfg.Encryption.Keys), keys...))
	if err != nil {
		return usageError{err}
	}
	if len(ring.IDs()) == 0 {
		return usageError{errors.New("no keys: set encryption.keys or give --key ID=FILE")}
	}

	if *field != "" {
		var sealed []byte
		if *in == "-" {
			sealed, err = io.ReadAll(os.Stdin)
		} else {
			sealed, err = os.ReadFile(*in)
		}
		if err != nil {
			return fmt.Errorf("read the sealed value: %w", err)
		}
		plain, err := ring.Open(*keyID, *field, sealed)
		if err != nil {
			return err
		}
		_, err = stdout.Write(plain)
		return err
	}

	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	rdb, err := sink.NewClient(cfg.Redis)
	if err != nil {
		return err
	}
	defer rdb.Close()
	fields := encryption.EntryFields{KeyID: cfg.Encryption.KeyIDField, Sealed: cfg.Encryption.SealedFields(cfg.Stream)}
	failed, err := printDecrypted(ctx, rdb, ring, fields, *stream, *start, *end, *count, stdout)
	if err != nil {
		return err
	}
	if failed > 0 {
		return fmt.Errorf("entries that did not decrypt: %d (see their \"error\")", failed)
	}
	return nil
}

// decryptedEntry is one line of decrypt --stream output. Values that are
// not valid UTF-8 go to FieldsBase64 instead of Fields.
type decryptedEntry struct {
	ID           string            `json:"id"`
	KeyID        string            `json:"key_id,omitempty"`
	Fields       map[string]string `json:"fields"`
	FieldsBase64 map[string]string `json:"fields_base64,omitempty"`
	Error        string            `json:"error,omitempty"`
}

// printDecrypted reads the stream's entries from start to end and prints
// each opened; an entry without the key id field was not sealed and is
// printed as it is. It returns how many entries failed to open.
func printDecrypted(ctx context.Context, rdb redis.UniversalClient, ring *encryption.Keyring, fields encryption.EntryFields,
	stream, start, end string, limit int, w io.Writer) (failed int, err error) {
	enc := json.NewEncoder(w)
	printed := 0
	err = sink.ReadStreamRange(ctx, rdb, stream, start, end, func(id string, values map[string]any) error {
		if limit > 0 && printed == limit {
			return sink.ErrStopReading
		}
		out := decryptedEntry{ID: id, Fields: map[string]string{}}
		if keyID, ok := values[fields.KeyID].(string); ok {
			out.KeyID = keyID
		}
		if err := ring.OpenEntry(values, fields); err != nil && !errors.Is(err, encryption.ErrNoKeyID) {
			out.Error = err.Error()
			failed++
		}
		for k, v := range values {
			s := fmt.Sprint(v)
			if utf8.ValidString(s) {
				out.Fields[k] = s
				continue
			}
			if out.FieldsBase64 == nil {
				out.FieldsBase64 = map[string]string{}
			}
			out.FieldsBase64[k] = base64.StdEncoding.EncodeToString([]byte(s))
		}
		printed++
		return enc.Encode(out)
	})
	return failed, err
}
