package config

import (
	"crypto/tls"
	"crypto/x509"
	"encoding/pem"
	"errors"
	"fmt"
	"io/fs"
	"net"
	"os"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"time"
)

// Validate checks every rule the connector relies on and returns an
// errors.Join of *FieldError, one per problem, or nil. It does not touch
// the network or the file system; CheckFiles reads the files.
func (c Config) Validate() error {
	return errors.Join(c.problems()...)
}

// problemList collects FieldErrors in the order the rules run.
type problemList []error

func (p *problemList) add(key string, value any, reason string) {
	*p = append(*p, &FieldError{Key: key, Value: display(value), Reason: reason})
}

func (p *problemList) positive(key string, d time.Duration) {
	if d <= 0 {
		p.add(key, d, "must be greater than 0")
	}
}

func (p *problemList) atLeast(key string, n, lowest int64) {
	if n < lowest {
		p.add(key, n, fmt.Sprintf("must be at least %d", lowest))
	}
}

// adaptive checks a limit the connector adapts when it is 0.
func (p *problemList) adaptive(key string, n int) {
	if n < 0 {
		p.add(key, n, "must be 0 (adaptive) or positive")
	}
}

func (p *problemList) oneOf(key, value string, allowed ...string) {
	for _, a := range allowed {
		if value == a {
			return
		}
	}
	shown := make([]string, len(allowed))
	for i, a := range allowed {
		shown[i] = quoteIfNeeded(a)
	}
	p.add(key, value, "must be one of "+strings.Join(shown, ", "))
}

func (p *problemList) notEmpty(key, value string) {
	if value == "" {
		p.add(key, value, "must not be empty")
	}
}

func (c Config) problems() []error {
	var p problemList
	c.Kafka.check(&p)
	c.Redis.check(&p)
	c.Stream.check(&p)
	c.checkStreamControl(&p)
	c.Encryption.check(&p, c.Stream)
	c.SchemaRegistry.check(&p, c.Stream)

	p.adaptive("batch.max_events", c.Batch.MaxEvents)
	p.adaptive("batch.max_bytes", c.Batch.MaxBytes)
	p.positive("batch.timeout", c.Batch.Timeout)
	p.adaptive("batch.max_in_flight", c.Batch.MaxInFlight)
	if c.Batch.MaxBufferedBytes < c.Batch.MaxBytes || c.Batch.MaxBufferedBytes < 1 {
		p.add("batch.max_buffered_bytes", c.Batch.MaxBufferedBytes, "must be at least batch.max_bytes ("+strconv.Itoa(c.Batch.MaxBytes)+")")
	}

	p.atLeast("circuit_breaker.failure_threshold", int64(c.CircuitBreaker.FailureThreshold), 1)
	p.positive("circuit_breaker.recovery", c.CircuitBreaker.Recovery)
	p.atLeast("circuit_breaker.success_threshold", int64(c.CircuitBreaker.SuccessThreshold), 1)

	p.atLeast("retry.max_attempts", int64(c.Retry.MaxAttempts), 1)
	p.positive("retry.initial_backoff", c.Retry.InitialBackoff)
	if c.Retry.MaxBackoff < c.Retry.InitialBackoff {
		p.add("retry.max_backoff", c.Retry.MaxBackoff, "must be at least retry.initial_backoff ("+formatDuration(c.Retry.InitialBackoff)+")")
	}

	p.positive("flush_timeout", c.FlushTimeout)

	c.Errors.check(&p)

	if c.HTTP.Listen != "" {
		if reason := checkHostPort(c.HTTP.Listen, false, 0); reason != "" {
			p.add("http.listen", c.HTTP.Listen, reason+` (or "" to disable the server)`)
		}
	}
	p.oneOf("log.level", c.Log.Level, "debug", "info", "warn", "error")
	p.oneOf("log.format", c.Log.Format, "json", "text")
	p.positive("shutdown_timeout", c.ShutdownTimeout)
	c.Delivery.check(&p, c)
	return p
}

// kafkaTopicName is the character set Kafka accepts in topic names.
var kafkaTopicName = regexp.MustCompile(`^[a-zA-Z0-9._-]{1,249}$`)

func (k Kafka) check(p *problemList) {
	if len(k.Brokers) == 0 {
		p.add("kafka.brokers", k.Brokers, "must list at least one broker")
	}
	for _, b := range k.Brokers {
		if reason := checkHostPort(b, true, 1); reason != "" {
			p.add("kafka.brokers", b, reason)
		}
	}
	p.notEmpty("kafka.group", k.Group)
	if len(k.Topics) == 0 {
		p.add("kafka.topics", k.Topics, "must list at least one topic")
	}
	for _, t := range k.Topics {
		switch {
		case k.TopicsRegex:
			if _, err := regexp.Compile(t); err != nil {
				p.add("kafka.topics", t, "not a valid regular expression: "+err.Error())
			}
		case !kafkaTopicName.MatchString(t):
			p.add("kafka.topics", t, "not a valid topic name (letters, digits, '.', '_', '-'; set kafka.topics_regex for patterns)")
		}
	}
	p.oneOf("kafka.start_offset", k.StartOffset, "earliest", "latest")
	p.positive("kafka.session_timeout", k.SessionTimeout)
	p.positive("kafka.rebalance_timeout", k.RebalanceTimeout)
	p.atLeast("kafka.fetch_max_bytes", int64(k.FetchMaxBytes), 1)
	p.atLeast("kafka.fetch_buffer_bytes", int64(k.FetchBufferBytes), MinFetchBufferBytes)
	k.TLS.check(p, "kafka.tls")
	k.checkSASL(p)
	k.checkMembership(p)
}

func (k Kafka) checkSASL(p *problemList) {
	s := k.SASL
	mech := strings.ToUpper(s.Mechanism)
	if s.Password != "" && s.PasswordFile != "" {
		p.add("kafka.sasl.password", redactedText, "set together with kafka.sasl.password_file; use one")
	}
	switch mech {
	case "":
	case "PLAIN", "SCRAM-SHA-256", "SCRAM-SHA-512":
		if s.Username == "" {
			p.add("kafka.sasl.username", s.Username, "must be set for mechanism "+mech)
		}
		if s.Password == "" && s.PasswordFile == "" {
			p.add("kafka.sasl.password", s.Password, "kafka.sasl.password or kafka.sasl.password_file must be set for mechanism "+mech)
		}
		if mech == "PLAIN" && !k.TLS.Enabled && !s.AllowPlaintext {
			p.add("kafka.sasl.mechanism", s.Mechanism, "sends the password in clear text without kafka.tls.enabled; set kafka.sasl.allow_plaintext to accept that")
		}
	case "OAUTHBEARER":
		if s.TokenFile == "" {
			p.add("kafka.sasl.token_file", s.TokenFile, "must be set for mechanism OAUTHBEARER")
		}
	default:
		p.add("kafka.sasl.mechanism", s.Mechanism, `must be one of "", PLAIN, SCRAM-SHA-256, SCRAM-SHA-512, OAUTHBEARER`)
	}
}

func (t TLS) check(p *problemList, prefix string) {
	switch {
	case t.CertFile != "" && t.KeyFile == "":
		p.add(prefix+".key_file", t.KeyFile, "must be set when "+prefix+".cert_file is")
	case t.KeyFile != "" && t.CertFile == "":
		p.add(prefix+".cert_file", t.CertFile, "must be set when "+prefix+".key_file is")
	}
}

func (r Redis) check(p *problemList) {
	if len(r.Addrs) == 0 {
		p.add("redis.addrs", r.Addrs, "must list at least one address")
	}
	for _, a := range r.Addrs {
		if reason := checkHostPort(a, false, 1); reason != "" {
			p.add("redis.addrs", a, reason)
		}
	}
	p.oneOf("redis.mode", r.Mode, "standalone", "cluster", "sentinel")
	switch r.Mode {
	case "standalone":
		if len(r.Addrs) > 1 {
			p.add("redis.addrs", r.Addrs, "standalone mode takes exactly one address (use cluster or sentinel mode for several)")
		}
	case "sentinel":
		p.notEmpty("redis.master_name", r.MasterName)
	case "cluster":
		if r.DB != 0 {
			p.add("redis.db", r.DB, "must be 0 in cluster mode")
		}
	}
	p.atLeast("redis.db", int64(r.DB), 0)
	if r.Password != "" && r.PasswordFile != "" {
		p.add("redis.password", redactedText, "set together with redis.password_file; use one")
	}
	r.TLS.check(p, "redis.tls")
	p.positive("redis.dial_timeout", r.DialTimeout)
	p.positive("redis.read_timeout", r.ReadTimeout)
	p.positive("redis.write_timeout", r.WriteTimeout)
	p.atLeast("redis.pool_size", int64(r.PoolSize), 0)
}

// metadataFields are the record attributes stream.metadata may add.
var metadataFields = []string{"topic", "partition", "offset", "timestamp"}

func (s Stream) check(p *problemList) {
	p.notEmpty("stream.key", s.Key)
	for _, reason := range templateProblems(s.Key, false) {
		p.add("stream.key", s.Key, reason)
	}
	for _, reason := range templateProblems(s.FallbackKey, true) {
		p.add("stream.fallback_key", s.FallbackKey, reason)
	}
	s.checkFormats(p)
	p.notEmpty("stream.value_field", s.ValueField)

	// Every fixed field name must be distinct, and none may start with
	// headers_prefix, or one value would overwrite another in the entry.
	type field struct{ name, key string }
	fields := []field{{s.ValueField, "stream.value_field"}}
	if s.KeyField != "" {
		fields = append(fields, field{s.KeyField, "stream.key_field"})
	}
	seenMeta := map[string]bool{}
	for _, m := range s.Metadata {
		switch {
		case !slices.Contains(metadataFields, m):
			p.add("stream.metadata", m, "must be one of "+strings.Join(metadataFields, ", "))
		case seenMeta[m]:
			p.add("stream.metadata", m, "listed twice")
		default:
			seenMeta[m] = true
			fields = append(fields, field{m, "stream.metadata"})
		}
	}
	owner := map[string]string{}
	for _, f := range fields {
		if f.name == "" {
			continue
		}
		if first, dup := owner[f.name]; dup {
			p.add(f.key, f.name, "field name already used by "+first)
			continue
		}
		owner[f.name] = f.key
		if s.HeadersPrefix != "" && strings.HasPrefix(f.name, s.HeadersPrefix) {
			p.add("stream.headers_prefix", s.HeadersPrefix, "is a prefix of field "+f.name+" ("+f.key+"), so a header could overwrite it")
		}
	}

	p.atLeast("stream.max_len", s.MaxLen, 0)
	p.atLeast("stream.max_entry_bytes", int64(s.MaxEntryBytes), 1)
}

// checkHostPort returns why addr is not host:port with a numeric port of
// at least minPort, or "".
func checkHostPort(addr string, hostRequired bool, minPort int) string {
	host, port, err := net.SplitHostPort(addr)
	if err != nil {
		return "must be host:port"
	}
	if hostRequired && host == "" {
		return "must be host:port with a host"
	}
	n, err := strconv.Atoi(port)
	if err != nil || n < minPort || n > 65535 {
		return fmt.Sprintf("port must be a number from %d to 65535", minPort)
	}
	return ""
}

// CheckFiles reads every file a file-valued key names (secret and token
// files, TLS CA, certificate and key files, encryption key files), whether
// or not the section that uses it is enabled, and returns an errors.Join
// of *FieldError naming the key, the path and what is wrong: missing, not
// readable, a directory, an empty secret, no PEM certificate or key, a key
// that is not the certificate's, an encryption key of the wrong size. A
// file that is not a regular file (a pipe, a device) is only checked to
// exist, since reading it could block or consume it. Contents never
// appear in the errors.
func (c Config) CheckFiles() error {
	var p problemList
	c.Kafka.TLS.checkFiles(&p, "kafka.tls")
	p.secretFile("kafka.sasl.password_file", c.Kafka.SASL.PasswordFile)
	p.secretFile("kafka.sasl.token_file", c.Kafka.SASL.TokenFile)
	p.secretFile("redis.password_file", c.Redis.PasswordFile)
	c.Redis.TLS.checkFiles(&p, "redis.tls")
	p.secretFile("schema_registry.password_file", c.SchemaRegistry.PasswordFile)
	p.secretFile("schema_registry.token_file", c.SchemaRegistry.TokenFile)
	c.SchemaRegistry.TLS.checkFiles(&p, "schema_registry.tls")
	for _, spec := range c.Encryption.Keys {
		_, file, err := ParseKeySpec(spec)
		if err != nil {
			continue // Validate reports it
		}
		b, reason := readConfigFile(file)
		if reason == "" && b != nil {
			if _, err := DecodeKey(b); err != nil {
				reason = "not a usable key: " + err.Error()
			}
		}
		if reason != "" {
			p.add("encryption.keys", spec, reason)
		}
	}
	return errors.Join(p...)
}

func (t TLS) checkFiles(p *problemList, prefix string) {
	if b, reason := readConfigFile(t.CAFile); reason != "" {
		p.add(prefix+".ca_file", t.CAFile, reason)
	} else if b != nil && !x509.NewCertPool().AppendCertsFromPEM(b) {
		p.add(prefix+".ca_file", t.CAFile, "holds no PEM certificate")
	}
	certPEM, certOK := pemFile(p, prefix+".cert_file", t.CertFile, "CERTIFICATE", "certificate")
	keyPEM, keyOK := pemFile(p, prefix+".key_file", t.KeyFile, "PRIVATE KEY", "private key")
	if certOK && keyOK {
		if _, err := tls.X509KeyPair(certPEM, keyPEM); err != nil {
			p.add(prefix+".key_file", t.KeyFile, "is not the private key of "+prefix+".cert_file ("+err.Error()+")")
		}
	}
}

// pemFile reads file for key and checks it holds a PEM block whose type
// ends in blockType; ok is false when it does not or it was not read.
func pemFile(p *problemList, key, file, blockType, what string) (b []byte, ok bool) {
	b, reason := readConfigFile(file)
	switch {
	case reason != "":
		p.add(key, file, reason)
		return nil, false
	case b == nil:
		return nil, false
	}
	for rest := b; ; {
		var block *pem.Block
		if block, rest = pem.Decode(rest); block == nil {
			p.add(key, file, "holds no PEM "+what)
			return nil, false
		}
		if strings.HasSuffix(block.Type, blockType) {
			return b, true
		}
	}
}

// secretFile checks a file holding a password or token: it must be
// readable and, as ReadSecret trims it, not blank.
func (p *problemList) secretFile(key, file string) {
	b, reason := readConfigFile(file)
	if reason == "" && b != nil && strings.TrimSpace(string(b)) == "" {
		reason = "file is empty"
	}
	if reason != "" {
		p.add(key, file, reason)
	}
}

// readConfigFile reads the file a key names. It returns nil, "" for an
// unset key or a file that is not a regular file (exists, not read), and
// a reason when the file cannot be used.
func readConfigFile(file string) ([]byte, string) {
	if file == "" {
		return nil, ""
	}
	info, err := os.Stat(file)
	switch {
	case errors.Is(err, fs.ErrNotExist):
		return nil, "file does not exist"
	case errors.Is(err, fs.ErrPermission):
		return nil, "file is not accessible (permission denied)"
	case err != nil:
		return nil, "file cannot be used: " + err.Error()
	case info.IsDir():
		return nil, "is a directory, not a file"
	case !info.Mode().IsRegular():
		return nil, ""
	}
	b, err := os.ReadFile(file)
	switch {
	case errors.Is(err, fs.ErrPermission):
		return nil, "file is not readable (permission denied)"
	case err != nil:
		return nil, "file cannot be read: " + err.Error()
	}
	return b, ""
}
