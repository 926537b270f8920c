package config

import (
	"testing"
	"time"
)

func TestRuntimeMaxProcs(t *testing.T) {
	c, err := Parse([]byte(minimalPG + "runtime: {max_procs: 1}\n"))
	if err != nil {
		t.Fatal(err)
	}
	if c.Runtime.MaxProcs != 1 {
		t.Fatalf("max_procs %d, want 1", c.Runtime.MaxProcs)
	}
	_, err = Parse([]byte(minimalPG + "runtime: {max_procs: 2, gogc: 50}\n"))
	wantProblems(t, err, "runtime.gogc: unknown key")
	_, err = Parse([]byte(minimalPG + "runtime: {max_procs: -2}\n"))
	wantProblems(t, err, "runtime.max_procs: must be between 0 (Go's default) and 1024, got -2 (line 9)")
}

func TestRuntimeSpinWait(t *testing.T) {
	c, err := Parse([]byte(minimalPG))
	if err != nil {
		t.Fatal(err)
	}
	if got := c.Runtime.Spin(); got != DefaultSpinWait {
		t.Fatalf("default spin_wait %v, want %v", got, DefaultSpinWait)
	}
	for text, want := range map[string]time.Duration{"0s": 0, "40us": 40 * time.Microsecond} {
		c, err := Parse([]byte(minimalPG + "runtime: {spin_wait: " + text + "}\n"))
		if err != nil {
			t.Fatal(err)
		}
		if got := c.Runtime.Spin(); got != want {
			t.Fatalf("spin_wait %s: %v, want %v", text, got, want)
		}
	}
	_, err = Parse([]byte(minimalPG + "runtime: {spin_wait: 5ms}\n"))
	wantProblems(t, err, "runtime.spin_wait: must be between 0s (off) and 1ms, got 5ms (line 9)")
}
