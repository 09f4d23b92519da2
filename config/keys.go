package config

import (
	"reflect"
	"slices"
	"strings"
	"time"
)

// envPrefix starts every environment variable that sets a configuration key.
const envPrefix = "KRC_"

var durationType = reflect.TypeFor[time.Duration]()

// leaf is one settable key: a struct field that is not itself a section.
// Lists ([]string) are leaves.
type leaf struct {
	key   string // kafka.tls.ca_file
	env   string // KRC_KAFKA_TLS_CA_FILE
	index []int  // field index path within Config
	typ   reflect.Type
}

// keySet is the set of known keys, derived from Config's koanf tags so a
// new field is configurable from YAML and the environment without further
// wiring.
type keySet struct {
	leaves   []leaf            // in struct order
	byKey    map[string]leaf   // key -> leaf
	byEnv    map[string]string // env name -> key
	sections map[string]bool   // kafka, kafka.tls, ...
}

func knownKeys() keySet {
	ks := keySet{
		byKey:    map[string]leaf{},
		byEnv:    map[string]string{},
		sections: map[string]bool{},
	}
	ks.walk(reflect.TypeFor[Config](), "", nil)
	return ks
}

func (ks *keySet) walk(t reflect.Type, prefix string, index []int) {
	for i := range t.NumField() {
		f := t.Field(i)
		tag := f.Tag.Get("koanf")
		if tag == "" || tag == "-" {
			continue
		}
		key := prefix + tag
		idx := append(slices.Clone(index), i)
		if f.Type.Kind() == reflect.Struct {
			ks.sections[key] = true
			ks.walk(f.Type, key+".", idx)
			continue
		}
		l := leaf{key: key, env: envName(key), index: idx, typ: f.Type}
		ks.leaves = append(ks.leaves, l)
		ks.byKey[key] = l
		ks.byEnv[l.env] = key
	}
}

// envName maps a key path to its environment variable: KRC_ plus the path
// upper-cased, dots becoming underscores (underscores stay).
func envName(key string) string {
	return envPrefix + strings.ToUpper(strings.ReplaceAll(key, ".", "_"))
}

// flatten returns c as a flat key -> value map, durations as strings, the
// form Load's default layer and the decoder share.
func (ks keySet) flatten(c Config) map[string]any {
	rv := reflect.ValueOf(c)
	out := make(map[string]any, len(ks.leaves))
	for _, l := range ks.leaves {
		v := rv.FieldByIndex(l.index)
		switch {
		case l.typ == durationType:
			out[l.key] = formatDuration(time.Duration(v.Int()))
		case l.typ.Kind() == reflect.Slice:
			out[l.key] = slices.Clone(v.Interface().([]string))
		case l.typ.Kind() == reflect.String:
			out[l.key] = v.String() // a named string type too (ErrorPolicy)
		default:
			out[l.key] = v.Interface()
		}
	}
	return out
}

// unknownPrefix finds what is wrong with a flat key that is neither a leaf
// nor a section: the shortest prefix that is unknown, or the leaf that was
// given a mapping instead of a value.
func (ks keySet) unknownPrefix(key string) (prefix string, leafGivenMap bool) {
	parts := strings.Split(key, ".")
	for i := 1; i <= len(parts); i++ {
		p := strings.Join(parts[:i], ".")
		if _, ok := ks.byKey[p]; ok {
			return p, true
		}
		if !ks.sections[p] {
			return p, false
		}
	}
	return key, false
}

// suggestKey returns the known key closest to an unknown one, or "" when
// nothing is close enough to be a likely typo.
func (ks keySet) suggestKey(unknown string) string {
	candidates := make([]string, 0, len(ks.byKey)+len(ks.sections))
	for k := range ks.byKey {
		candidates = append(candidates, k)
	}
	for k := range ks.sections {
		candidates = append(candidates, k)
	}
	return closest(unknown, candidates)
}

// suggestEnv is suggestKey for environment variable names.
func (ks keySet) suggestEnv(unknown string) string {
	candidates := make([]string, 0, len(ks.byEnv))
	for name := range ks.byEnv {
		candidates = append(candidates, name)
	}
	return closest(unknown, candidates)
}

// closest returns the candidate within edit distance 2 of s, preferring
// the nearest and then the alphabetically first, so output is stable.
func closest(s string, candidates []string) string {
	slices.Sort(candidates)
	best, bestDist := "", 3
	for _, c := range candidates {
		if d := editDistance(s, c); d < bestDist {
			best, bestDist = c, d
		}
	}
	return best
}

// editDistance is the Levenshtein distance between a and b.
func editDistance(a, b string) int {
	prev := make([]int, len(b)+1)
	cur := make([]int, len(b)+1)
	for j := range prev {
		prev[j] = j
	}
	for i := 1; i <= len(a); i++ {
		cur[0] = i
		for j := 1; j <= len(b); j++ {
			cost := 1
			if a[i-1] == b[j-1] {
				cost = 0
			}
			cur[j] = min(prev[j]+1, cur[j-1]+1, prev[j-1]+cost)
		}
		prev, cur = cur, prev
	}
	return prev[len(b)]
}
