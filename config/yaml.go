package config

import (
	"errors"
	"reflect"

	"go.yaml.in/yaml/v3"
)

// yamlParser is the koanf parser of the YAML file. It decodes the document
// as YAML says, then puts back the text of every scalar that sets a string
// key or a list item: YAML resolves a plain 007 to the integer 7, 1e3 to
// the float 1000 and True to true, and rendering those back gives "7",
// "1000" and "true", another consumer group or password than the one
// written. Only a null (null, ~ or nothing) stays a null, which empties
// the key. Numbers and booleans for other keys resolve as before.
type yamlParser struct{ ks keySet }

// Unmarshal parses a YAML document into nested maps.
func (p yamlParser) Unmarshal(b []byte) (map[string]any, error) {
	// The plain decode keeps YAML's own checks and messages (syntax,
	// duplicate keys, a document that is not a mapping).
	var out map[string]any
	if err := yaml.Unmarshal(b, &out); err != nil {
		return nil, err
	}
	var doc yaml.Node
	if err := yaml.Unmarshal(b, &doc); err != nil {
		return nil, err
	}
	if out != nil && len(doc.Content) > 0 {
		p.keepText(out, doc.Content[0], "")
	}
	return out, nil
}

// Marshal is not used: the rendering is Config.YAML.
func (yamlParser) Marshal(map[string]any) ([]byte, error) {
	return nil, errors.New("config: yaml marshal is not supported; use Config.YAML")
}

// keepText replaces the values in m, decoded from mapping node n at key
// path prefix, that set string keys or list items by their scalars' text.
func (p yamlParser) keepText(m map[string]any, n *yaml.Node, prefix string) {
	n = unalias(n)
	if n.Kind != yaml.MappingNode {
		return
	}
	// Merged mappings first, so the mapping's own keys override them; of
	// several merged mappings the first wins, so it goes last.
	for i := 0; i+1 < len(n.Content); i += 2 {
		if !isMergeKey(n.Content[i]) {
			continue
		}
		src := unalias(n.Content[i+1])
		if src.Kind == yaml.SequenceNode {
			for j := len(src.Content) - 1; j >= 0; j-- {
				p.keepText(m, src.Content[j], prefix)
			}
			continue
		}
		p.keepText(m, src, prefix)
	}
	for i := 0; i+1 < len(n.Content); i += 2 {
		k, v := n.Content[i], unalias(n.Content[i+1])
		if isMergeKey(k) || k.Kind != yaml.ScalarNode {
			continue
		}
		key := k.Value
		cur, ok := m[key]
		if !ok {
			continue
		}
		path := prefix + key
		l, isLeaf := p.ks.byKey[path]
		switch {
		case !isLeaf:
			if sub, isMap := cur.(map[string]any); isMap {
				p.keepText(sub, v, path+".")
			}
		case l.typ.Kind() == reflect.String:
			if text, isText := scalarText(v); isText {
				m[key] = text
			}
		case l.typ.Kind() == reflect.Slice:
			if text, isText := scalarText(v); isText {
				m[key] = text // a comma-separated list
				continue
			}
			items, isList := cur.([]any)
			if v.Kind != yaml.SequenceNode || !isList || len(items) != len(v.Content) {
				continue
			}
			for j, item := range v.Content {
				if text, isText := scalarText(unalias(item)); isText {
					items[j] = text
				}
			}
		}
	}
}

// scalarText returns the text of a scalar that is not a null.
func scalarText(n *yaml.Node) (string, bool) {
	if n.Kind != yaml.ScalarNode || n.ShortTag() == "!!null" {
		return "", false
	}
	return n.Value, true
}

func unalias(n *yaml.Node) *yaml.Node {
	for n.Kind == yaml.AliasNode && n.Alias != nil {
		n = n.Alias
	}
	return n
}

func isMergeKey(n *yaml.Node) bool {
	return n.Kind == yaml.ScalarNode && n.ShortTag() == "!!merge"
}
