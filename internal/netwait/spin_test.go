//go:build linux

package netwait

import (
	"io"
	"net"
	"os"
	"os/exec"
	"runtime"
	"slices"
	"sync/atomic"
	"syscall"
	"testing"
	"time"
)

// echoEnv names the address a copy of this test binary, started as an
// echo process, connects to (TestMain).
const echoEnv = "NETWAIT_TEST_ECHO_ADDR"

// TestMain runs the echo process when asked to: two connections to the
// address, each byte answered at once. A peer in another process answers
// whatever this one's scheduler does.
func TestMain(m *testing.M) {
	if addr := os.Getenv(echoEnv); addr != "" {
		done := make(chan struct{}, 2)
		for range 2 {
			c, err := net.Dial("tcp", addr)
			if err != nil {
				os.Exit(2)
			}
			go func() {
				io.Copy(c, c)
				done <- struct{}{}
			}()
		}
		<-done
		<-done
		os.Exit(0)
	}
	os.Exit(m.Run())
}

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
	// Waits 2..30 would poll without the backoff (the first follows the
	// Conn's first read, a switch); with it, misses at waits 3, 5, 8,
	// 13, 22 (and a hit resets it).
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

// TestSpinLetsOthersRun: a client whose polls keep finding its answers
// never sleeps; with one P, another goroutine's socket is not even looked
// at while it polls. Every two limits a wait after a poll goes through
// the scheduler, which asks the netpoller: another connection's answers
// come within about three limits, not when Go's sysmon next steps in (10
// ms and more, which this test saw as a mean of 4.5–18 ms).
func TestSpinLetsOthersRun(t *testing.T) {
	prev := runtime.GOMAXPROCS(1)
	t.Cleanup(func() { runtime.GOMAXPROCS(prev) })
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	echo := exec.Command(os.Args[0], "-test.run=^$")
	echo.Env = append(os.Environ(), echoEnv+"="+ln.Addr().String())
	if err := echo.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { echo.Process.Kill(); echo.Wait() })
	ln.(*net.TCPListener).SetDeadline(time.Now().Add(10 * time.Second)) // an echo that died fails the test
	var conns [2]net.Conn
	for i := range conns {
		if conns[i], err = ln.Accept(); err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { conns[i].Close() })
	}
	s := NewSpin(200 * time.Microsecond)
	hog := Wrap(conns[0]).(*Conn)
	hog.SetSpin(s, true)
	other := conns[1] // Go's own reads, in the netpoller
	roundTrips(t, hog, 3)

	var stop atomic.Bool
	var hogTrips atomic.Int64
	hogDone := make(chan struct{})
	go func() {
		defer close(hogDone)
		b := make([]byte, 1)
		for !stop.Load() {
			if _, err := hog.Write([]byte{'x'}); err != nil {
				return
			}
			if _, err := hog.Read(b); err != nil {
				return
			}
			hogTrips.Add(1)
		}
	}()
	// Round trips of the other connection until the hog's polls found
	// their bytes 150 times: on a loaded machine (CI tests two packages at
	// once on two CPUs) the echo process answers late, the hog's polls
	// miss and back off, and that takes longer.
	var rtts []time.Duration
	b := make([]byte, 1)
	for deadline := time.Now().Add(20 * time.Second); ; {
		if hits, _ := s.Polls(); len(rtts) >= 30 && hits >= 150 || time.Now().After(deadline) {
			break
		}
		start := time.Now()
		if _, err := other.Write([]byte{'y'}); err != nil {
			t.Fatal(err)
		}
		if _, err := other.Read(b); err != nil {
			t.Fatal(err)
		}
		rtts = append(rtts, time.Since(start))
	}
	stop.Store(true)
	<-hogDone
	hits, _ := s.Polls()
	slices.Sort(rtts)
	t.Logf("hog: %d round trips, %d poll hits; other: %d round trips, median %v, max %v", hogTrips.Load(), hits, len(rtts), rtts[len(rtts)/2], rtts[len(rtts)-1])
	if hits < 150 {
		t.Fatalf("the hog's polls hit %d times: the test did not test polling", hits)
	}
	var sum time.Duration
	for _, d := range rtts {
		sum += d
	}
	// Without the round through the scheduler most of them are quick
	// (a missed poll parks the hog now and then) and some wait 10–20 ms
	// for sysmon: the mean shows it, the median may not.
	if mean := sum / time.Duration(len(rtts)); mean > 1500*time.Microsecond {
		t.Fatalf("another connection's round trips took %v on average while one polled", mean)
	}
}
