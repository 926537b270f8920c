package executor

import "testing"

// FuzzParseDecimal: what parses prints back as a string that parses to an
// equal number with the same scale.
func FuzzParseDecimal(f *testing.F) {
	for _, s := range []string{"0", "1.50", "-0.001", ".5", "NaN", "-Infinity", "123456789012345678901234567890.1"} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, b []byte) {
		d, err := ParseDecimal(b)
		if err != nil {
			return
		}
		s := d.String()
		e, err := ParseDecimal([]byte(s))
		if err != nil || e.Cmp(d) != 0 || e.Scale() != d.Scale() || e.String() != s {
			t.Fatalf("%q → %q → %v, %v", b, s, e, err)
		}
	})
}
