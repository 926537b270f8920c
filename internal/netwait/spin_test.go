//go:build linux

package netwait

import (
	"net"
	"runtime"
	"syscall"
	"testing"
	"time"
)

// echoAfter answers every byte a reads with one byte, after delay. It
// reads and writes a's descriptor in blocking mode, on a thread of its
// own: a goroutine parked in the netpoller would not run while the
// Conn under test polls (no thread asks the netpoller then), which is
// how the proxy's own sessions wait for each other, not how a peer
// process answers.
func echoAfter(t *testing.T, a *net.TCPConn, delay time.Duration) {
	t.Helper()
	f, err := a.File()
	if err != nil {
		t.Fatal(err)
	}
	a.Close()
	t.Cleanup(func() { f.Close() })
	fd := int(f.Fd())
	if err := syscall.SetNonblock(fd, false); err != nil {
		t.Fatal(err)
	}
	go func() {
		runtime.LockOSThread()
		b := make([]byte, 1)
		for {
			if n, err := syscall.Read(fd, b); n != 1 || err != nil {
				return
			}
			if delay > 0 {
				time.Sleep(delay)
			}
			if _, err := syscall.Write(fd, b); err != nil {
				return
			}
		}
	}()
}

// roundTrips writes a byte and reads the answer n times.
func roundTrips(t *testing.T, c *Conn, n int) {
	t.Helper()
	b := make([]byte, 1)
	for i := 0; i < n; i++ {
		if _, err := c.Write([]byte{'x'}); err != nil {
			t.Fatal(err)
		}
		if _, err := c.Read(b); err != nil {
			t.Fatal(err)
		}
	}
}

// spinConn is a wrapped connection of a pair whose peer echoes after
// delay, polling under s.
func spinConn(t *testing.T, s *Spin, client bool, delay time.Duration) *Conn {
	a, b := pair(t)
	c := Wrap(b).(*Conn)
	c.SetSpin(s, client)
	echoAfter(t, a, delay)
	return c
}

// twoProcs gives the test two Ps: the echoing goroutine must run while a
// poll holds the other.
func twoProcs(t *testing.T) {
	prev := runtime.GOMAXPROCS(2)
	t.Cleanup(func() { runtime.GOMAXPROCS(prev) })
}

// TestSpinPollsWhileOneClientWorks: a client alone with its Spin finds its
// answers by polling; a server Conn of the same Spin does too.
func TestSpinPollsWhileOneClientWorks(t *testing.T) {
	twoProcs(t)
	// A long limit: the echoing thread shares two CPUs with the test and
	// whatever else runs, and a poll that gives up too early only makes
	// the counts flaky.
	s := NewSpin(10 * time.Millisecond)
	c := spinConn(t, s, true, 0)
	roundTrips(t, c, 50)
	hits, misses := s.Polls()
	// The first wait follows the Conn's first read, which counts as a
	// client switch; every later one may poll.
	if hits < 30 {
		t.Fatalf("hits %d, misses %d over 50 round trips: want ≥ 30 hits", hits, misses)
	}
	srv := spinConn(t, s, false, 0)
	roundTrips(t, srv, 20)
	if h, _ := s.Polls(); h < hits+10 {
		t.Fatalf("a server Conn's waits polled %d times in 20 round trips", h-hits)
	}
}

// TestSpinStopsWhileTwoClientsWork: when another client Conn read between
// two waits of one, neither polls.
func TestSpinStopsWhileTwoClientsWork(t *testing.T) {
	twoProcs(t)
	s := NewSpin(10 * time.Millisecond)
	c1 := spinConn(t, s, true, 0)
	c2 := spinConn(t, s, true, 0)
	for i := 0; i < 30; i++ {
		roundTrips(t, c1, 1)
		roundTrips(t, c2, 1)
	}
	if hits, misses := s.Polls(); hits+misses != 0 {
		t.Fatalf("two clients taking turns polled %d times (%d hits)", hits+misses, hits)
	}
	// The second client gone quiet: the first polls again.
	roundTrips(t, c1, 10)
	if hits, _ := s.Polls(); hits < 3 {
		t.Fatalf("one client alone again: %d hits in 10 round trips", hits)
	}
}

// TestSpinBacksOffWhenPollsMiss: answers slower than the limit make the
// Conn skip polls (1, 2, 4, … waits after each miss).
func TestSpinBacksOffWhenPollsMiss(t *testing.T) {
	twoProcs(t)
	s := NewSpin(20 * time.Microsecond)
	c := spinConn(t, s, true, 2*time.Millisecond)
	roundTrips(t, c, 30)
	hits, misses := s.Polls()
	// Waits 2..30 would poll without the backoff; with it, misses at
	// waits 2, 4, 7, 12, 21 (and a hit resets it).
	if misses == 0 || hits+misses > 10 {
		t.Fatalf("30 slow answers: %d hits, %d misses: want some misses and at most 10 polls", hits, misses)
	}
}

// TestNilSpin: a Conn without a Spin, or with NewSpin(0), never polls.
func TestNilSpin(t *testing.T) {
	if s := NewSpin(0); s != nil {
		t.Fatalf("NewSpin(0) = %v, want nil", s)
	}
	c := spinConn(t, nil, true, 0)
	roundTrips(t, c, 5)
	if c.sp.spin != nil {
		t.Fatal("SetSpin(nil) set a Spin")
	}
}
