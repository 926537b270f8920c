package config

import "testing"

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
