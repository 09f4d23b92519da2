package sink

import "testing"

// Slots as CLUSTER KEYSLOT of a real redis-server (7.0) reported them,
// hash-tag rules included.
func TestClusterSlot(t *testing.T) {
	tests := []struct {
		key  string
		want int
	}{
		{"foo", 12182},
		{"bar", 5061},
		{"hello", 866},
		{"123456789", 12739},
		{"user1000", 3443},
		{"{user1000}.following", 3443},
		{"foo{}{bar}", 8363}, // an empty first tag: the whole key
		{"foo{{bar}}zap", 4015},
		{"foo{bar}{zap}", 5061},
		{"events", 9102},
		{"events:{3}", 1584},
		{"", 0},
	}
	for _, tt := range tests {
		t.Run(tt.key, func(t *testing.T) {
			if got := clusterSlot(tt.key); got != tt.want {
				t.Errorf("clusterSlot(%q): got %d, want %d", tt.key, got, tt.want)
			}
		})
	}
}
