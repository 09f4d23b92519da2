package config

import (
	"errors"
	"fmt"
	"io/fs"
	"maps"
	"math"
	"reflect"
	"slices"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/knadh/koanf/providers/confmap"
	kfile "github.com/knadh/koanf/providers/file"
	"github.com/knadh/koanf/v2"
)

// Load builds the configuration from Default(), then the YAML file (skipped
// when file is ""), then the KRC_ variables in environ (os.Environ() form).
//
// Environment values are strings parsed as the key's type; lists are
// comma-separated with spaces trimmed and empty items dropped, and \, is a
// comma within an item. YAML lists may also be written that way. With
// kafka.topics_regex, a comma that would cut a pattern out of its (...),
// [...] or {...} is an error rather than a separator. Durations must carry
// a unit ("100ms", "30s"): a bare number such as 30 is rejected, because it
// could mean seconds or nanoseconds (0 alone is accepted). A YAML null
// empties a key (zero value). A string key, and every list item, keeps a
// YAML scalar's text as written: 007, 1e3 and True stay "007", "1e3" and
// "True".
//
// A file that cannot be read or parsed is reported alone. Otherwise Load
// collects every unknown key, unknown KRC_ variable, badly typed value and
// Validate failure into one errors.Join of *FieldError. On error the
// returned Config holds what could be decoded and is for diagnostics only.
// Load upper-cases kafka.sasl.mechanism.
func Load(file string, environ []string) (Config, error) {
	ks := knownKeys()
	k := koanf.New(".")
	if err := k.Load(confmap.Provider(ks.flatten(Default()), "."), nil); err != nil {
		return Default(), fmt.Errorf("config: load defaults: %w", err)
	}
	if file != "" {
		if err := k.Load(kfile.Provider(file), yamlParser{ks}); err != nil {
			var pathErr *fs.PathError
			if errors.As(err, &pathErr) {
				return Default(), fmt.Errorf("config: %w", err)
			}
			return Default(), fmt.Errorf("config: parse %s: %w", file, err)
		}
	}
	env, origin, errs := ks.environment(environ)
	if err := k.Load(confmap.Provider(env, "."), nil); err != nil {
		return Default(), fmt.Errorf("config: load environment: %w", err)
	}

	cfg := Default()
	flat := k.All()
	errs = append(errs, ks.decode(flat, origin, &cfg)...)
	if raw, isText := flat["kafka.topics"].(string); isText && cfg.Kafka.TopicsRegex {
		if reason := regexCutReason(raw); reason != "" {
			if name := origin["kafka.topics"]; name != "" {
				reason += " (from " + name + ")"
			}
			errs = append(errs, &FieldError{Key: "kafka.topics", Value: display(raw), Reason: reason})
			// The pieces are no patterns of the user's: judge the whole.
			cfg.Kafka.Topics = []string{strings.TrimSpace(strings.ReplaceAll(raw, `\,`, ","))}
		}
	}
	cfg.Kafka.SASL.Mechanism = strings.ToUpper(cfg.Kafka.SASL.Mechanism)
	errs = append(errs, cfg.problems()...)
	return cfg, errors.Join(errs...)
}

// environment picks the KRC_ variables out of environ as flat key -> raw
// string values, remembering which variable set each key so decode errors
// can name it. Unknown KRC_ variables are errors; the last of duplicate
// entries wins, as in a shell.
func (ks keySet) environment(environ []string) (values map[string]any, origin map[string]string, errs []error) {
	values, origin = map[string]any{}, map[string]string{}
	unknown := map[string]bool{}
	for _, kv := range environ {
		name, value, ok := strings.Cut(kv, "=")
		if !ok || !strings.HasPrefix(name, envPrefix) {
			continue
		}
		key, known := ks.byEnv[name]
		if !known {
			unknown[name] = true
			continue
		}
		values[key], origin[key] = value, name
	}
	for _, name := range slices.Sorted(maps.Keys(unknown)) {
		reason := "unknown environment variable"
		if s := ks.suggestEnv(name); s != "" {
			reason += " (did you mean " + s + "?)"
		}
		errs = append(errs, &FieldError{Key: name, Reason: reason})
	}
	return values, origin, errs
}

// decode sets every known key of flat on cfg, in key order, and reports
// keys that are unknown or whose value does not fit the field. A field
// whose value is rejected keeps its previous value, so Validate does not
// report the same key twice.
func (ks keySet) decode(flat map[string]any, origin map[string]string, cfg *Config) []error {
	var errs []error
	reported := map[string]bool{}
	target := reflect.ValueOf(cfg).Elem()
	keys := make([]string, 0, len(flat))
	for key := range flat {
		keys = append(keys, key)
	}
	slices.Sort(keys)
	for _, key := range keys {
		v := flat[key]
		if l, ok := ks.byKey[key]; ok {
			rv, reason := convert(v, l.typ)
			if reason != "" {
				if name := origin[key]; name != "" {
					reason += " (from " + name + ")"
				}
				shown := display(v)
				if secretKeys[key] {
					shown = redactedText
				}
				errs = append(errs, &FieldError{Key: key, Value: shown, Reason: reason})
				continue
			}
			target.FieldByIndex(l.index).Set(rv)
			continue
		}
		if ks.sections[key] {
			// An empty or null section leaves its keys as they were.
			if _, isMap := v.(map[string]any); !isMap && v != nil {
				errs = append(errs, &FieldError{Key: key, Value: display(v), Reason: "must be a mapping of keys"})
			}
			continue
		}
		prefix, leafGivenMap := ks.unknownPrefix(key)
		if prefix == "" {
			prefix = key // a YAML key with an empty path segment, such as ".x"
		}
		if prefix == "" {
			prefix = `""` // the empty YAML key itself
		}
		if reported[prefix] {
			continue
		}
		reported[prefix] = true
		if leafGivenMap {
			errs = append(errs, &FieldError{Key: prefix, Value: "{...}", Reason: typeReason(ks.byKey[prefix].typ)})
			continue
		}
		reason := "unknown key"
		if s := ks.suggestKey(prefix); s != "" {
			reason += " (did you mean " + s + "?)"
		}
		errs = append(errs, &FieldError{Key: prefix, Reason: reason})
	}
	return errs
}

// secretKeys are the keys whose values Redacted hides; a FieldError shows
// them as [redacted] too.
var secretKeys = map[string]bool{"redis.password": true, "kafka.sasl.password": true}

// convert turns a YAML, environment or default value into t, or says why
// it cannot. Strings must be UTF-8, as YAML requires, so that an
// environment value can be rendered back.
func convert(v any, t reflect.Type) (reflect.Value, string) {
	out := reflect.New(t).Elem()
	if v == nil {
		return out, ""
	}
	switch {
	case t == durationType:
		d, reason := toDuration(v)
		if reason != "" {
			return out, reason
		}
		out.SetInt(int64(d))
	case t.Kind() == reflect.String:
		s, ok := scalarString(v)
		if !ok {
			return out, typeReason(t)
		}
		if !utf8.ValidString(s) {
			return out, "must be valid UTF-8 text"
		}
		out.SetString(s)
	case t.Kind() == reflect.Bool:
		switch x := v.(type) {
		case bool:
			out.SetBool(x)
		case string:
			b, err := strconv.ParseBool(strings.TrimSpace(x))
			if err != nil {
				return out, typeReason(t)
			}
			out.SetBool(b)
		default:
			return out, typeReason(t)
		}
	case out.CanInt():
		n, ok := toInt(v)
		if !ok {
			return out, typeReason(t)
		}
		if out.OverflowInt(n) {
			return out, fmt.Sprintf("out of range for a %d-bit integer", t.Bits())
		}
		out.SetInt(n)
	case out.CanUint():
		n, ok := toInt(v)
		if !ok {
			return out, typeReason(t)
		}
		if n < 0 {
			return out, "must not be negative"
		}
		if out.OverflowUint(uint64(n)) {
			return out, fmt.Sprintf("out of range for a %d-bit integer", t.Bits())
		}
		out.SetUint(uint64(n))
	case t.Kind() == reflect.Slice && t.Elem().Kind() == reflect.String:
		list, ok := toStrings(v)
		if !ok {
			return out, typeReason(t)
		}
		for _, item := range list {
			if !utf8.ValidString(item) {
				return out, "must be valid UTF-8 text"
			}
		}
		out.Set(reflect.ValueOf(list))
	default:
		return out, fmt.Sprintf("unsupported field type %s", t)
	}
	return out, ""
}

// typeReason says what a field of type t accepts.
func typeReason(t reflect.Type) string {
	switch {
	case t == durationType:
		return "must be a duration with a unit, such as 100ms or 30s"
	case t.Kind() == reflect.String:
		return `must be a string (in YAML, quote values starting with "{", e.g. "{topic}")`
	case t.Kind() == reflect.Bool:
		return "must be true or false"
	case t.Kind() == reflect.Slice:
		return "must be a list of strings"
	}
	return "must be an integer"
}

// ambiguousDuration rejects bare numbers: 30 could mean seconds to a
// person and nanoseconds to time.Duration.
const ambiguousDuration = "a number without a unit is ambiguous; write a duration such as 100ms or 30s"

// toDuration accepts Go duration strings ("100ms", "1m30s") and a bare 0,
// which means the same in every unit.
func toDuration(v any) (time.Duration, string) {
	s, ok := v.(string)
	if !ok {
		n, isNum := toInt(v)
		if _, isFloat := v.(float64); isNum || isFloat {
			if n == 0 && isNum {
				return 0, ""
			}
			return 0, ambiguousDuration
		}
		return 0, typeReason(durationType)
	}
	s = strings.TrimSpace(s)
	d, err := time.ParseDuration(s)
	if err != nil {
		if _, numErr := strconv.ParseFloat(s, 64); numErr == nil {
			return 0, ambiguousDuration
		}
		return 0, typeReason(durationType)
	}
	return d, ""
}

// scalarString accepts a string, or a number or bool YAML did not quote.
func scalarString(v any) (string, bool) {
	switch x := v.(type) {
	case string:
		return x, true
	case bool, int, int64, uint64:
		return fmt.Sprint(x), true
	case float64:
		return strconv.FormatFloat(x, 'g', -1, 64), true
	}
	return "", false
}

// toInt accepts integers, whole floats (YAML 1e6) and decimal strings.
func toInt(v any) (int64, bool) {
	switch x := v.(type) {
	case int:
		return int64(x), true
	case int64:
		return x, true
	case uint64:
		if x > math.MaxInt64 {
			return 0, false
		}
		return int64(x), true
	case float64:
		if x != math.Trunc(x) || math.Abs(x) > 1<<53 {
			return 0, false
		}
		return int64(x), true
	case string:
		n, err := strconv.ParseInt(strings.TrimSpace(x), 10, 64)
		return n, err == nil
	}
	// Other integer types come from the defaults layer (int32, uint).
	switch rv := reflect.ValueOf(v); {
	case rv.CanInt():
		return rv.Int(), true
	case rv.CanUint() && rv.Uint() <= math.MaxInt64:
		return int64(rv.Uint()), true
	}
	return 0, false
}

// toStrings accepts a YAML list of scalars or a comma-separated string.
func toStrings(v any) ([]string, bool) {
	switch x := v.(type) {
	case string:
		return splitList(x), true
	case []string:
		return slices.Clone(x), true
	case []any:
		out := make([]string, 0, len(x))
		for _, e := range x {
			s, ok := scalarString(e)
			if !ok {
				return nil, false
			}
			out = append(out, s)
		}
		return out, true
	}
	return nil, false
}

// splitList splits a comma-separated list, trimming spaces and dropping
// empty items. A backslash before a comma makes it part of the item
// (a\,b is one item, "a,b"); every other backslash is kept as it is, so
// regular expressions such as \d need no doubling.
func splitList(s string) []string {
	out := []string{}
	var item strings.Builder
	flush := func() {
		if text := strings.TrimSpace(item.String()); text != "" {
			out = append(out, text)
		}
		item.Reset()
	}
	for i := 0; i < len(s); i++ {
		switch {
		case s[i] == '\\' && i+1 < len(s) && s[i+1] == ',':
			item.WriteByte(',')
			i++
		case s[i] == ',':
			flush()
		default:
			item.WriteByte(s[i])
		}
	}
	flush()
	return out
}

// regexCutReason says why the comma-separated list s, read as regular
// expressions, must not be split where it is: a piece would open a (, [ or
// { that another piece closes, as in ^events-\d{1,3}$, where the pieces
// ^events-\d{1 and 3}$ are each a valid pattern matching other topics.
// It returns "" when the split cuts no pattern.
func regexCutReason(s string) string {
	pieces := splitList(s)
	if len(pieces) < 2 || !balanced(strings.ReplaceAll(s, `\,`, ",")) {
		return ""
	}
	for _, p := range pieces {
		if !balanced(p) {
			return `splitting at the commas cuts the pattern ` + quoteIfNeeded(p) +
				` out of a (...), [...] or {...}; write \, for a comma inside a pattern`
		}
	}
	return ""
}

// balanced reports whether every (, [ and { of the regular expression re
// is closed, skipping escaped characters and the inside of a class ([...]).
func balanced(re string) bool {
	parens, braces, inClass := 0, 0, false
	for i := 0; i < len(re); i++ {
		c := re[i]
		switch {
		case c == '\\':
			i++
		case inClass:
			inClass = c != ']'
		case c == '[':
			inClass = true
			if strings.HasPrefix(re[i+1:], "^") {
				i++
			}
			if strings.HasPrefix(re[i+1:], "]") {
				i++ // a ] first in a class is a literal
			}
		case c == '(':
			parens++
		case c == ')':
			parens--
		case c == '{':
			braces++
		case c == '}':
			braces--
		}
		if parens < 0 || braces < 0 {
			return false
		}
	}
	return parens == 0 && braces == 0 && !inClass
}
