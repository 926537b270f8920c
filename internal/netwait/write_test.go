//go:build linux

package netwait

import (
	"bytes"
	"errors"
	"io"
	"net"
	"os"
	"sync"
	"syscall"
	"testing"
	"time"
)

// wrapped returns a Conn of one end of a loopback pair and the other end.
func wrapped(t *testing.T) (*Conn, *net.TCPConn) {
	t.Helper()
	a, b := pair(t)
	c := newConn(b)
	if c == nil {
		t.Fatal("newConn refused a loopback TCP connection")
	}
	return c, a
}

// TestWriteFillsAFullSocket: a write much larger than the socket buffers
// waits for the peer to drain them and arrives whole.
func TestWriteFillsAFullSocket(t *testing.T) {
	c, peer := wrapped(t)
	want := bytes.Repeat([]byte("0123456789abcdef"), 1<<20) // 16 MiB
	got := make(chan []byte, 1)
	go func() {
		var buf bytes.Buffer
		time.Sleep(50 * time.Millisecond) // let the sender find it full
		io.CopyN(&buf, peer, int64(len(want)))
		got <- buf.Bytes()
	}()
	n, err := c.Write(want)
	if err != nil || n != len(want) {
		t.Fatalf("Write = %d, %v; want %d, nil", n, err, len(want))
	}
	if !bytes.Equal(<-got, want) {
		t.Fatal("the peer read other bytes than were written")
	}
}

// TestWriteDeadline: a write to a peer that reads nothing ends at the
// write deadline with a timeout, having written part of it.
func TestWriteDeadline(t *testing.T) {
	c, _ := wrapped(t)
	c.SetWriteDeadline(time.Now().Add(100 * time.Millisecond))
	start := time.Now()
	n, err := c.Write(make([]byte, 64<<20))
	var ne net.Error
	if !errors.As(err, &ne) || !ne.Timeout() || !errors.Is(err, os.ErrDeadlineExceeded) {
		t.Fatalf("Write error = %v; want a deadline timeout", err)
	}
	if n == 0 || n == 64<<20 {
		t.Fatalf("Write wrote %d bytes; want some, not all", n)
	}
	if d := time.Since(start); d > 5*time.Second {
		t.Fatalf("Write returned after %v", d)
	}
}

// TestWriteAfterCloseAndReset: a write on a closed Conn reports
// net.ErrClosed; one to a peer that reset the connection fails with the
// kernel's error (and no SIGPIPE ends the process).
func TestWriteAfterCloseAndReset(t *testing.T) {
	c, peer := wrapped(t)
	peer.SetLinger(0)
	peer.Close() // an RST
	time.Sleep(20 * time.Millisecond)
	var err error
	for range 3 { // the first may still be taken before the RST is seen
		if _, err = c.Write([]byte("x")); err != nil {
			break
		}
		time.Sleep(10 * time.Millisecond)
	}
	if !errors.Is(err, syscall.EPIPE) && !errors.Is(err, syscall.ECONNRESET) {
		t.Fatalf("Write after the peer's reset = %v; want EPIPE or ECONNRESET", err)
	}
	c.Close()
	if _, err := c.Write([]byte("x")); !errors.Is(err, net.ErrClosed) {
		t.Fatalf("Write after Close = %v; want net.ErrClosed", err)
	}
}

// TestConcurrentWritesTakeTurns: Writes from several goroutines arrive
// each in one piece, as with Go's writes.
func TestConcurrentWritesTakeTurns(t *testing.T) {
	c, peer := wrapped(t)
	const writers, size = 8, 4 << 20
	got := make(chan []byte, 1)
	go func() {
		buf := make([]byte, writers*size)
		time.Sleep(50 * time.Millisecond) // the writers find the socket full, and wait together
		io.ReadFull(peer, buf)
		got <- buf
	}()
	var wg sync.WaitGroup
	for i := range writers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			if _, err := c.Write(bytes.Repeat([]byte{byte('a' + i)}, size)); err != nil {
				t.Error(err)
			}
		}()
	}
	wg.Wait()
	buf := <-got
	for i := 0; i < writers; i++ {
		block := buf[i*size : (i+1)*size]
		if bytes.Count(block, block[:1]) != size {
			t.Fatalf("block %d mixes writers' bytes", i)
		}
	}
}

// TestWriteAllocatesNothing: the hot path's writes allocate nothing.
func TestWriteAllocatesNothing(t *testing.T) {
	c, peer := wrapped(t)
	go io.Copy(io.Discard, peer)
	msg := make([]byte, 100)
	if a := testing.AllocsPerRun(1000, func() { c.Write(msg) }); a != 0 {
		t.Fatalf("Write allocates %.1f times", a)
	}
}
