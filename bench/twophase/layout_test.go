package main

import (
	"strings"
	"testing"
)

// Every key lands on the shard its layout means, and no key repeats across
// clients and transactions.
func TestLayoutKeys(t *testing.T) {
	for _, l := range []layout{oneShard, twoShards} {
		seen := map[int64]bool{}
		for _, c := range []int{0, 1, 7, maxClients - 1} { // -clients ≤ maxClients: ids 0…maxClients-1
			for _, n := range []int64{1, 2, 3, clientStride/2 - 1} {
				a, b := l.keys(c, n)
				var got [2]int64
				for _, k := range []int64{a, b} {
					if seen[k] {
						t.Fatalf("%s: key %d repeats (client %d, n %d)", l, k, c, n)
					}
					seen[k] = true
					if k >= splitID {
						got[1]++
					} else {
						got[0]++
					}
				}
				if got != l.perShard() {
					t.Fatalf("%s client %d n %d: keys %d, %d put %v rows on the shards, want %v", l, c, n, a, b, got, l.perShard())
				}
			}
		}
	}
}

func TestShellQuote(t *testing.T) {
	for in, want := range map[string]string{
		"-duration": "-duration", "": "''", "a b": "'a b'",
		"engineers' runs": `"engineers' runs"`, `it's "$x"`: `'it'\''s "$x"'`,
	} {
		if got := shellQuote(in); got != want {
			t.Errorf("shellQuote(%q) = %s, want %s", in, got, want)
		}
	}
	if !strings.Contains(pgbenchScript, "* 1000000000 +") {
		t.Fatalf("the script's client stride is not clientStride:\n%s", pgbenchScript)
	}
}
