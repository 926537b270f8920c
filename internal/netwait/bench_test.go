//go:build linux

package netwait

import (
	"io"
	"net"
	"testing"
)

// benchWrapped runs f on a loopback pair, the measured end read and
// written as Go does and through a Conn; peer is the other end.
func benchWrapped(b *testing.B, f func(b *testing.B, peer net.Conn, c net.Conn)) {
	for _, w := range []struct {
		name string
		wrap func(net.Conn) net.Conn
	}{{"go", func(c net.Conn) net.Conn { return c }}, {"netwait", Wrap}} {
		b.Run(w.name, func(b *testing.B) {
			peer, tc := pair(b)
			c := w.wrap(tc)
			b.ReportAllocs()
			b.ResetTimer()
			f(b, peer, c)
		})
	}
}

// BenchmarkRoundTrip is a proxy's rhythm on one socket: a request read
// from the peer, an answer written to it, the peer's next request; the
// peer is a plain Go connection served by its own goroutine.
func BenchmarkRoundTrip(b *testing.B) {
	benchWrapped(b, func(b *testing.B, peer, c net.Conn) {
		go func() {
			buf := make([]byte, 64)
			for {
				if _, err := peer.Write(buf); err != nil {
					return
				}
				if _, err := io.ReadFull(peer, buf); err != nil {
					return
				}
			}
		}()
		buf := make([]byte, 64)
		for range b.N {
			if _, err := io.ReadFull(c, buf); err != nil {
				b.Fatal(err)
			}
			if _, err := c.Write(buf); err != nil {
				b.Fatal(err)
			}
		}
	})
}

// BenchmarkReadReady reads what is already there: the cost of a read
// itself, no wait (the peer's write, in the same goroutine, is measured
// with it).
func BenchmarkReadReady(b *testing.B) {
	benchWrapped(b, func(b *testing.B, peer, c net.Conn) {
		buf := make([]byte, 64)
		for range b.N {
			if _, err := peer.Write(buf); err != nil {
				b.Fatal(err)
			}
			if _, err := io.ReadFull(c, buf); err != nil {
				b.Fatal(err)
			}
		}
	})
}

// BenchmarkWrite writes 64 bytes at a time to a peer that reads all it
// gets in its own goroutine.
func BenchmarkWrite(b *testing.B) {
	benchWrapped(b, func(b *testing.B, peer, c net.Conn) {
		go io.Copy(io.Discard, peer)
		buf := make([]byte, 64)
		for range b.N {
			if _, err := c.Write(buf); err != nil {
				b.Fatal(err)
			}
		}
	})
}
