package config

import (
	"os"
	"testing"
)

// FuzzParse: any input gives a config or an error, never a panic, and every
// problem names something.
func FuzzParse(f *testing.F) {
	full, err := os.ReadFile("testdata/full.yaml")
	if err != nil {
		f.Fatal(err)
	}
	f.Add(full)
	f.Add([]byte(minimalPG))
	f.Add([]byte("a: &x {b: *x}\n<<: *x\n"))
	f.Add([]byte("listeners: {postgres: {tls: &t {mode: require}}, mysql: {tls: {<<: [*t, *t]}}}\n"))
	f.Fuzz(func(t *testing.T, data []byte) {
		c, err := Parse(data)
		if err == nil && c == nil {
			t.Fatal("nil config without error")
		}
		for _, pe := range Problems(err) {
			if pe.Error() == "" {
				t.Fatal("empty problem")
			}
		}
	})
}
