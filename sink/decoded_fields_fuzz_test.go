package sink

import (
	"bytes"
	"encoding/json"
	"fmt"
	"testing"
)

// FuzzAppendObjectFields: on compact JSON (what decoders produce) the fast
// path maps exactly as appendJSONFields does.
func FuzzAppendObjectFields(f *testing.F) {
	for _, s := range []string{`{"a":1}`, `{"s":"x\"y","o":{"k":[1,"]"]},"n":null}`, `{}`, `{"e":"\u00e9"}`} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, doc []byte) {
		var buf bytes.Buffer
		if json.Compact(&buf, doc) != nil {
			return
		}
		compact := buf.Bytes()
		want, wantErr := appendJSONFields(nil, compact)
		got, gotErr := appendObjectFields(nil, compact)
		if (wantErr == nil) != (gotErr == nil) {
			t.Fatalf("%s: got error %v, want %v", compact, gotErr, wantErr)
		}
		if wantErr == nil && fmt.Sprintf("%q", flattenAny(got)) != fmt.Sprintf("%q", flattenAny(want)) {
			t.Fatalf("%s: got %q, want %q", compact, flattenAny(got), flattenAny(want))
		}
	})
}
