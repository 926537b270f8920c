package auth

import "testing"

func TestSASLprep(t *testing.T) {
	for _, tc := range []struct{ in, want string }{
		{"pencil", "pencil"},
		{"I\u00ADX", "IX"},                 // RFC 4013 §3: soft hyphen mapped to nothing
		{"user", "user"},                   // RFC 4013 §3
		{"\u00AA", "a"},                    // RFC 4013 §3: NFKC
		{"\u2168", "IX"},                   // RFC 4013 §3: NFKC
		{"a\u00A0b", "a b"},                // non-ASCII space
		{"caf\u0065\u0301", "café"},        // composed by NFKC
		{"\u0007", "\u0007"},               // ASCII: used as is
		{"x\u0007\u00AA", "x\u0007\u00AA"}, // prohibited: used as is
		{"\u0627\u0031", "\u0627\u0031"},   // RFC 4013 §3: bidi violation, used as is
		{"\u0627\u0031\u0628", "\u0627\u0031\u0628"},
		{"\xff\u00AA", "\xff\u00AA"}, // invalid UTF-8: used as is
	} {
		if got := saslPrep(tc.in); got != tc.want {
			t.Errorf("saslPrep(%q) = %q, want %q", tc.in, got, tc.want)
		}
	}
}
