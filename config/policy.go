package config

// ErrorPolicy is errors.policy: what becomes of a record Redis can never
// accept (a per-record permanent error, see DESIGN.md's Errors).
type ErrorPolicy string

// The values of errors.policy. The empty policy is accepted too: it
// resolves to PolicyDLQ when errors.dlq_topic is set, else PolicyFail
// (Errors.EffectivePolicy).
const (
	// PolicyFail stops the connector at the record: nothing past it in its
	// partition is committed, and it is read again on the next start.
	PolicyFail ErrorPolicy = "fail"
	// PolicyDLQ produces the record to errors.dlq_topic, with headers
	// naming the error and where it came from, then counts it as done.
	PolicyDLQ ErrorPolicy = "dlq"
	// PolicySkip counts the record as done without writing it anywhere.
	PolicySkip ErrorPolicy = "skip"
)

// errorPolicies are the values errors.policy accepts, in the order its
// error message lists them.
var errorPolicies = []ErrorPolicy{"", PolicyFail, PolicyDLQ, PolicySkip}

func (e Errors) check(p *problemList) {
	allowed := make([]string, len(errorPolicies))
	for i, v := range errorPolicies {
		allowed[i] = string(v)
	}
	p.oneOf("errors.policy", string(e.Policy), allowed...)
	if e.Policy == PolicyDLQ && e.DLQTopic == "" {
		p.add("errors.dlq_topic", e.DLQTopic, "must be set when errors.policy is dlq")
	}
}
