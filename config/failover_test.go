package config

import (
	"strings"
	"testing"
	"time"
)

func TestFailoverBuffer(t *testing.T) {
	c := validConfig()
	if c.Replicas.FailoverBuffer != 5*time.Second {
		t.Fatalf("default failover_buffer = %s, want 5s", c.Replicas.FailoverBuffer)
	}
	for _, d := range []time.Duration{-time.Second, 2 * time.Minute} {
		c := validConfig()
		c.Replicas.FailoverBuffer = d
		err := c.Validate()
		if err == nil || !strings.Contains(err.Error(), "replicas.failover_buffer") {
			t.Errorf("failover_buffer %s: got %v, want an error naming replicas.failover_buffer", d, err)
		}
	}
}
