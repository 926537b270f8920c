package shardmap

import (
	"math/rand/v2"
	"testing"

	"github.com/spaolacci/murmur3"
)

func TestMurmur3MatchesLibrary(t *testing.T) {
	r := rand.New(rand.NewPCG(1, 2))
	for n := 0; n < 300; n++ {
		for rep := 0; rep < 20; rep++ {
			b := make([]byte, n)
			for i := range b {
				b[i] = byte(r.Uint32())
			}
			want, _ := murmur3.Sum128(b)
			if got := murmur3H1(b); got != want {
				t.Fatalf("len %d: %x, library %x", n, got, want)
			}
		}
	}
}

func FuzzMurmur3(f *testing.F) {
	f.Add([]byte("The quick brown fox jumps over the lazy dog"))
	f.Fuzz(func(t *testing.T, b []byte) {
		want, _ := murmur3.Sum128(b)
		if got := murmur3H1(b); got != want {
			t.Fatalf("%x: %x, library %x", b, got, want)
		}
	})
}
