package config

import "strings"

// templateProblems returns why a stream key template is malformed, one
// reason per bad placeholder. Placeholders are {topic}, {partition},
// {key} and {header:NAME}; other text is literal. A fallback template may
// only use {topic} and {partition}, the two that every record resolves.
func templateProblems(tmpl string, fallback bool) []string {
	var reasons []string
	for rest := tmpl; ; {
		open := strings.IndexByte(rest, '{')
		if open < 0 {
			return reasons
		}
		end := strings.IndexByte(rest[open:], '}')
		if end < 0 {
			return append(reasons, "unclosed placeholder "+rest[open:])
		}
		ph := rest[open : open+end+1]
		rest = rest[open+end+1:]
		inner := ph[1 : len(ph)-1]
		switch {
		case inner == "topic" || inner == "partition":
		case inner == "key" || strings.HasPrefix(inner, "header:") && inner != "header:":
			if fallback {
				reasons = append(reasons, "placeholder "+ph+" may not resolve; a fallback key may only use {topic} and {partition}")
			}
		case inner == "header:":
			reasons = append(reasons, "placeholder {header:} needs a header name, e.g. {header:tenant}")
		default:
			reasons = append(reasons, "unknown placeholder "+ph+" (want {topic}, {partition}, {key} or {header:NAME})")
		}
	}
}
