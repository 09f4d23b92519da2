package config

import "testing"

func TestDeliveryGuarantee(t *testing.T) {
	tests := []struct {
		name    string
		yaml    string
		environ []string
		want    string
		wantErr bool
	}{
		{"default", "", nil, AtLeastOnce, false},
		{"yaml", "delivery: {guarantee: exactly_once}\n", nil, ExactlyOnce, false},
		{"env", "", []string{"KRC_DELIVERY_GUARANTEE=exactly_once"}, ExactlyOnce, false},
		{"unknown", "delivery: {guarantee: exactly-once}\n", nil, "", true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			file := ""
			if tt.yaml != "" {
				file = writeFile(t, tt.yaml)
			}
			cfg, err := Load(file, tt.environ)
			if tt.wantErr {
				wantProblem(t, err, "delivery.guarantee", "exactly-once", `must be one of at_least_once, exactly_once`)
				return
			}
			if err != nil {
				t.Fatalf("got error %v, want none", err)
			}
			if got := cfg.Delivery.Guarantee; got != tt.want {
				t.Errorf("got %q, want %q", got, tt.want)
			}
		})
	}
}
