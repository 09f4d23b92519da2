package sink

import (
	"fmt"
	"testing"
)

// TestAppendObjectFieldsMatchesJSONFields holds the decoders' fast path to
// the json format's mapping, document by document.
func TestAppendObjectFieldsMatchesJSONFields(t *testing.T) {
	docs := []string{
		`{}`,
		`{"a":1}`,
		`{"s":"text","n":-1.5e3,"t":true,"f":false,"z":null}`,
		`{"nested":{"x":[1,{"y":"}]"}],"q":"a\"b"},"after":"c"}`,
		`{"esc":"line\nbreak \u00e9 \\ \/","arr":[],"obj":{}}`,
		`{"k\"ey":"v","":""}`,
		`[1,2]`,
		`{"a":1,}`,
		`{"a":1}x`,
		`{"a" 1}`,
		`"string"`,
		`{"a":"unterminated}`,
	}
	for _, doc := range docs {
		t.Run(doc, func(t *testing.T) {
			want, wantErr := appendJSONFields(nil, []byte(doc))
			got, gotErr := appendObjectFields(nil, []byte(doc))
			if (wantErr == nil) != (gotErr == nil) {
				t.Fatalf("got error %v, want %v", gotErr, wantErr)
			}
			if wantErr != nil {
				return
			}
			if fmt.Sprintf("%q", flattenAny(got)) != fmt.Sprintf("%q", flattenAny(want)) {
				t.Errorf("got %q, want %q", flattenAny(got), flattenAny(want))
			}
		})
	}
}

func flattenAny(args []any) []string {
	out := make([]string, len(args))
	for i, a := range args {
		switch v := a.(type) {
		case string:
			out[i] = "s:" + v
		case []byte:
			out[i] = "b:" + string(v)
		}
	}
	return out
}
