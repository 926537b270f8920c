package auth

import "testing"

// FuzzParseVerifiers: the parsers never panic, and whatever they accept
// formats back to an equivalent verifier.
func FuzzParseVerifiers(f *testing.F) {
	f.Add(rfcVerifier)
	f.Add("*2470C0C06DEE42FD1618BB99005ADCA2EC9D1E19")
	f.Add("0x" + mysqlFoobar)
	f.Add("$A$005$abcdefghijklmnopqrst" + "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa")
	f.Fuzz(func(t *testing.T, s string) {
		if v, err := ParseSCRAMVerifier(s); err == nil {
			if w, err := ParseSCRAMVerifier(v.String()); err != nil || w.String() != v.String() {
				t.Fatalf("SCRAM round trip of %q: %v", s, err)
			}
		}
		if v, err := ParseMySQLNativeVerifier(s); err == nil {
			if w, err := ParseMySQLNativeVerifier(v.String()); err != nil || w != v {
				t.Fatalf("native round trip of %q: %v", s, err)
			}
		}
		if v, err := ParseCachingSHA2Verifier(s); err == nil {
			if w, err := ParseCachingSHA2Verifier(v.String()); err != nil || w != v {
				t.Fatalf("caching_sha2 round trip of %q: %v", s, err)
			}
		}
	})
}
