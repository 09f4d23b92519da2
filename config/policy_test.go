package config

import "testing"

// TestErrorPolicyLoad: errors.policy arrives typed from YAML and the
// environment, and a value outside fail, dlq, skip is refused at load
// naming the key, the value and the allowed values.
func TestErrorPolicyLoad(t *testing.T) {
	tests := []struct {
		name    string
		yaml    string
		environ []string
		want    ErrorPolicy
		wantErr string // the bad value, when Load must refuse it
	}{
		{"default", "", nil, "", ""},
		{"yaml", "errors: {policy: skip}\n", nil, PolicySkip, ""},
		{"env", "", []string{"KRC_ERRORS_POLICY=dlq", "KRC_ERRORS_DLQ_TOPIC=events.dlq"}, PolicyDLQ, ""},
		{"env overrides yaml", "errors: {policy: skip}\n", []string{"KRC_ERRORS_POLICY=fail"}, PolicyFail, ""},
		{"unknown", "errors: {policy: retry}\n", nil, "", "retry"},
		{"case matters", "", []string{"KRC_ERRORS_POLICY=DLQ"}, "", "DLQ"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			file := ""
			if tt.yaml != "" {
				file = writeFile(t, tt.yaml)
			}
			cfg, err := Load(file, tt.environ)
			if tt.wantErr != "" {
				wantProblem(t, err, "errors.policy", tt.wantErr, `must be one of "", fail, dlq, skip`)
				return
			}
			if err != nil {
				t.Fatalf("got error %v, want none", err)
			}
			if got := cfg.Errors.Policy; got != tt.want {
				t.Errorf("got policy %q, want %q", got, tt.want)
			}
		})
	}
}

func TestEffectivePolicy(t *testing.T) {
	tests := []struct {
		errs Errors
		want ErrorPolicy
	}{
		{Errors{}, PolicyFail},
		{Errors{DLQTopic: "events.dlq"}, PolicyDLQ},
		{Errors{Policy: PolicySkip, DLQTopic: "events.dlq"}, PolicySkip},
		{Errors{Policy: PolicyFail, DLQTopic: "events.dlq"}, PolicyFail},
		{Errors{Policy: PolicyDLQ, DLQTopic: "events.dlq"}, PolicyDLQ},
	}
	for _, tt := range tests {
		if got := tt.errs.EffectivePolicy(); got != tt.want {
			t.Errorf("%+v: got %q, want %q", tt.errs, got, tt.want)
		}
	}
}
