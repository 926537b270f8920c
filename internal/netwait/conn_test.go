//go:build linux

package netwait

import (
	"bytes"
	"errors"
	"io"
	"net"
	"os"
	"path/filepath"
	"sync"
	"syscall"
	"testing"
	"time"
)

// pair returns the two ends of a loopback TCP connection.
func pair(t testing.TB) (*net.TCPConn, *net.TCPConn) {
	a, b := connPair(t, "tcp", "127.0.0.1:0")
	return a.(*net.TCPConn), b.(*net.TCPConn)
}

// connPair returns the two ends of a connection through a listener on
// network and address: the dialled end and the accepted one.
func connPair(t testing.TB, network, address string) (net.Conn, net.Conn) {
	t.Helper()
	ln, err := net.Listen(network, address)
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	accepted := make(chan net.Conn, 1)
	go func() {
		c, _ := ln.Accept()
		accepted <- c
	}()
	a, err := net.Dial(network, ln.Addr().String())
	if err != nil {
		t.Fatal(err)
	}
	b := <-accepted
	if b == nil {
		t.Fatal("accept failed")
	}
	t.Cleanup(func() { a.Close(); b.Close() })
	return a, b
}

// unixPair returns the two ends of a Unix stream socket connection.
func unixPair(t testing.TB) (*net.UnixConn, *net.UnixConn) {
	a, b := connPair(t, "unix", filepath.Join(t.TempDir(), "s"))
	return a.(*net.UnixConn), b.(*net.UnixConn)
}

// soInqSupported reports whether the kernel has SO_INQ for Unix sockets.
func soInqSupported(t *testing.T) bool {
	fds, err := syscall.Socketpair(syscall.AF_UNIX, syscall.SOCK_STREAM, 0)
	if err != nil {
		t.Fatal(err)
	}
	defer syscall.Close(fds[0])
	defer syscall.Close(fds[1])
	return syscall.SetsockoptInt(fds[0], syscall.SOL_SOCKET, soInq, 1) == nil
}

// A Unix stream socket is wrapped where the kernel counts what is left
// to read (SO_INQ), and is read right: requests and answers in turn, the
// peer's close during a wait, and the wait's end on Close. Without
// SO_INQ, Wrap must leave the socket to Go's reads.
func TestUnixSocket(t *testing.T) {
	a, b := unixPair(t)
	w := Wrap(b)
	if !soInqSupported(t) {
		if w != net.Conn(b) {
			t.Fatalf("Wrap(*net.UnixConn) = %T on a kernel without SO_INQ, want the conn itself", w)
		}
		return
	}
	if _, ok := w.(*Conn); !ok {
		t.Fatalf("Wrap(*net.UnixConn) = %T, want *Conn", w)
	}
	pingPong(t, a, w)

	// The peer closes while the read waits: EOF.
	t.Run("eof", func(t *testing.T) {
		a, b := unixPair(t)
		r := Wrap(b)
		a.Write([]byte("x"))
		if n, err := r.Read(make([]byte, 16)); n != 1 || err != nil {
			t.Fatalf("first read = %d, %v", n, err)
		}
		r.Write([]byte("y")) // the next read waits first
		time.AfterFunc(20*time.Millisecond, func() {
			io.ReadFull(a, make([]byte, 1)) // the "y": a close with it unread is a reset
			a.Close()
		})
		if _, err := r.Read(make([]byte, 16)); err != io.EOF {
			t.Fatalf("read = %v, want EOF", err)
		}
		// Writing to a closed peer fails at once (what makes a close
		// before the last read safe: the wait comes only after a write).
		if _, err := r.Write([]byte("z")); err == nil {
			t.Fatal("a write to a closed peer succeeded")
		}
	})
	t.Run("close", func(t *testing.T) {
		a, b := unixPair(t)
		r := Wrap(b)
		a.Write([]byte("x"))
		r.Read(make([]byte, 16))
		r.Write([]byte("y"))
		time.AfterFunc(20*time.Millisecond, func() { b.Close() })
		if _, err := r.Read(make([]byte, 16)); !errors.Is(err, net.ErrClosed) {
			t.Fatalf("read = %v, want net.ErrClosed", err)
		}
	})
}

// TestWrapFindsThePollDescriptor fails when a Go release moves the net
// internals Wrap digs through: the proxy would still work, reading as Go
// does, but would lose the saved system call without telling.
func TestWrapFindsThePollDescriptor(t *testing.T) {
	a, _ := pair(t)
	if _, ok := Wrap(a).(*Conn); !ok {
		t.Fatalf("Wrap(*net.TCPConn) = %T, want *Conn", Wrap(a))
	}
	p1, p2 := net.Pipe()
	defer p1.Close()
	defer p2.Close()
	if got := Wrap(p1); got != p1 {
		t.Fatalf("Wrap(net.Pipe) = %T, want the conn itself", got)
	}
}

// TestPingPong reads request after request, each sent only after the
// last answer, so that every read but the first follows one that emptied
// the socket and a write, and waits first; some peers answer at once,
// some after a pause, some in two parts.
func TestPingPong(t *testing.T) {
	a, b := pair(t)
	pingPong(t, a, Wrap(b))
}

// pingPong runs TestPingPong's rounds: a sends, r answers.
func pingPong(t *testing.T, a net.Conn, r net.Conn) {
	const rounds = 2000
	var wg sync.WaitGroup
	wg.Add(1)
	go func() {
		defer wg.Done()
		buf := make([]byte, 8)
		for i := 0; i < rounds; i++ {
			msg := []byte{byte(i), byte(i >> 8), 'p', 'i', 'n', 'g', '!', '\n'}
			switch i % 3 {
			case 0:
				a.Write(msg)
			case 1:
				time.Sleep(50 * time.Microsecond)
				a.Write(msg)
			case 2:
				a.Write(msg[:3])
				time.Sleep(20 * time.Microsecond)
				a.Write(msg[3:])
			}
			if _, err := io.ReadFull(a, buf); err != nil {
				t.Errorf("round %d: answer: %v", i, err)
				return
			}
		}
	}()
	buf := make([]byte, 64)
	for i := 0; i < rounds; i++ {
		got := 0
		for got < 8 {
			n, err := r.Read(buf[got:])
			if err != nil {
				t.Fatalf("round %d: %v", i, err)
			}
			got += n
		}
		if buf[0] != byte(i) || buf[1] != byte(i>>8) || !bytes.Equal(buf[2:8], []byte("ping!\n")) {
			t.Fatalf("round %d: read %q", i, buf[:8])
		}
		if _, err := r.Write(buf[:8]); err != nil {
			t.Fatal(err)
		}
	}
	wg.Wait()
}

// TestFullReadLeavesNoBytesBehind: a read that fills the buffer may leave
// bytes in the socket that raise no new edge; the next read must not wait
// for one.
func TestFullReadLeavesNoBytesBehind(t *testing.T) {
	a, b := pair(t)
	r := Wrap(b)
	data := bytes.Repeat([]byte("0123456789abcdef"), 4096) // 64 KiB
	if _, err := a.Write(data); err != nil {
		t.Fatal(err)
	}
	b.SetReadDeadline(time.Now().Add(5 * time.Second))
	got := make([]byte, 0, len(data))
	buf := make([]byte, 1000)
	for len(got) < len(data) {
		n, err := r.Read(buf)
		if err != nil {
			t.Fatalf("after %d of %d bytes: %v", len(got), len(data), err)
		}
		got = append(got, buf[:n]...)
	}
	if !bytes.Equal(got, data) {
		t.Fatal("data differs")
	}
}

// TestWaitEndsForDeadlineCloseAndEOF: a read that waits (the last one
// emptied the socket, a write followed) ends for a deadline set by another goroutine, for a
// close by another goroutine, and for the peer's close.
func TestWaitEndsForDeadlineCloseAndEOF(t *testing.T) {
	drain := func(t *testing.T, a, b *net.TCPConn) net.Conn {
		r := Wrap(b)
		a.Write([]byte("x"))
		if n, err := r.Read(make([]byte, 16)); n != 1 || err != nil {
			t.Fatalf("first read = %d, %v", n, err)
		}
		r.Write([]byte("y")) // the next read waits first
		return r
	}
	t.Run("deadline", func(t *testing.T) {
		a, b := pair(t)
		r := drain(t, a, b)
		time.AfterFunc(20*time.Millisecond, func() { b.SetReadDeadline(time.Now()) })
		_, err := r.Read(make([]byte, 16))
		if !errors.Is(err, os.ErrDeadlineExceeded) {
			t.Fatalf("read = %v, want a deadline error", err)
		}
		// The wait is over for good: without a deadline, data is read on.
		b.SetReadDeadline(time.Time{})
		a.Write([]byte("y"))
		if n, err := r.Read(make([]byte, 16)); n != 1 || err != nil {
			t.Fatalf("read after the deadline = %d, %v", n, err)
		}
	})
	t.Run("close", func(t *testing.T) {
		a, b := pair(t)
		r := drain(t, a, b)
		time.AfterFunc(20*time.Millisecond, func() { b.Close() })
		if _, err := r.Read(make([]byte, 16)); !errors.Is(err, net.ErrClosed) {
			t.Fatalf("read = %v, want net.ErrClosed", err)
		}
	})
	t.Run("eof", func(t *testing.T) {
		a, b := pair(t)
		r := drain(t, a, b)
		time.AfterFunc(20*time.Millisecond, func() {
			io.ReadFull(a, make([]byte, 1)) // the "y": a close with it unread sends RST
			a.Close()
		})
		if _, err := r.Read(make([]byte, 16)); err != io.EOF {
			t.Fatalf("read = %v, want EOF", err)
		}
	})
}

// TestForgetAfterRawRead: a RawConn.Read resets the readiness the wait
// counts on; after Forget the next read reads first and finds the bytes.
func TestForgetAfterRawRead(t *testing.T) {
	a, b := pair(t)
	r := Wrap(b).(*Conn)
	a.Write([]byte("x"))
	if n, err := r.Read(make([]byte, 16)); n != 1 || err != nil {
		t.Fatalf("first read = %d, %v", n, err)
	}
	r.Write([]byte("?"))
	a.Write([]byte("y"))
	// Let the netpoller see the byte arrive (this goroutine sleeps, the
	// scheduler polls), then reset the readiness it recorded the way a
	// peek through RawConn.Read does.
	time.Sleep(50 * time.Millisecond)
	raw, _ := b.SyscallConn()
	var peeked bool
	raw.Read(func(fd uintptr) bool {
		var p [1]byte
		n, _, _ := recvPeek(fd, p[:])
		peeked = n == 1
		return true
	})
	if !peeked {
		t.Fatal("the byte did not arrive within 50 ms")
	}
	r.Forget()
	b.SetReadDeadline(time.Now().Add(2 * time.Second))
	if n, err := r.Read(make([]byte, 16)); n != 1 || err != nil {
		t.Fatalf("read after Forget = %d, %v", n, err)
	}
}

// TestEndAfterShortRead: the peer writes and closes at once, and both
// arrive (one edge) before the read, which returns the bytes; the end of
// the stream comes with the next read, though no new edge will ever
// announce it. That next read must find it whether or not a write came
// between (a FIN: TCP_INQ counts it) and for a reset (no write gets
// through it; without a write the read reads first). A peer that only
// shut its sending side answers a write with no reset: only TCP_INQ tells
// of its FIN.
func TestEndAfterShortRead(t *testing.T) {
	for _, tc := range []struct {
		name         string
		reset, write bool
		half         bool // the peer only shuts its sending side, and reads on
	}{
		{"half-close, then a write", false, true, true},
		{"fin", false, false, false},
		{"fin, then a write", false, true, false},
		{"reset", true, false, false},
		{"reset, then a write", true, true, false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			a, b := pair(t)
			r := Wrap(b)
			a.Write([]byte("x"))
			if n, err := r.Read(make([]byte, 16)); n != 1 || err != nil {
				t.Fatalf("first read = %d, %v", n, err)
			}
			r.Write([]byte("?")) // the next read waits first
			a.Write([]byte("last words"))
			io.ReadFull(a, make([]byte, 1)) // the "?": a close with it unread sends RST
			if tc.reset {
				a.SetLinger(0) // close sends RST
			}
			if tc.half {
				a.CloseWrite()
			} else {
				a.Close()
			}
			time.Sleep(50 * time.Millisecond) // the netpoller sees both arrive
			b.SetReadDeadline(time.Now().Add(2 * time.Second))
			buf := make([]byte, 64)
			n, err := r.Read(buf)
			if errors.Is(err, os.ErrDeadlineExceeded) {
				t.Fatal("the read waited for the deadline")
			}
			if err == nil && string(buf[:n]) != "last words" {
				t.Fatalf("read = %q", buf[:n])
			}
			if err != nil {
				return // a reset may discard what was not read yet
			}
			if tc.write {
				_, err = r.Write([]byte("next"))
				if tc.reset && err == nil {
					t.Fatal("a write after a reset went through")
				}
			}
			_, err = r.Read(buf)
			if err == nil || errors.Is(err, os.ErrDeadlineExceeded) {
				t.Fatalf("read after the last bytes = %v, want the end of the stream at once", err)
			}
			if !tc.reset && err != io.EOF {
				t.Fatalf("read after the last bytes = %v, want io.EOF", err)
			}
		})
	}
}

// TestReadAllocatesNothing: a read and a write of a round trip allocate
// nothing (the proxy's hot path has none).
func TestReadAllocatesNothing(t *testing.T) {
	a, b := pair(t)
	r := Wrap(b)
	buf := make([]byte, 64)
	msg := []byte("ping")
	allocs := testing.AllocsPerRun(200, func() {
		a.Write(msg)
		if _, err := r.Read(buf); err != nil {
			t.Fatal(err)
		}
		r.Write(msg)
		io.ReadFull(a, buf[:4])
	})
	if allocs != 0 {
		t.Fatalf("%.1f allocations per round trip, want 0", allocs)
	}
}

// TestConcurrentReadPanics: a second Read while one waits would be a
// second wait on the descriptor ("double wait", a fatal runtime error
// that no recover catches); Conn panics first, recoverably.
func TestConcurrentReadPanics(t *testing.T) {
	a, b := pair(t)
	r := Wrap(b)
	done := make(chan error, 1)
	go func() {
		_, err := r.Read(make([]byte, 16))
		done <- err
	}()
	time.Sleep(50 * time.Millisecond) // the first Read waits
	func() {
		defer func() {
			if recover() == nil {
				t.Error("a concurrent Read did not panic")
			}
		}()
		r.Read(make([]byte, 16))
	}()
	a.Write([]byte("x"))
	if err := <-done; err != nil {
		t.Fatalf("the first Read = %v", err)
	}
}

// recvPeek peeks at the socket without reading it and without waiting.
func recvPeek(fd uintptr, p []byte) (int, syscall.Sockaddr, error) {
	return syscall.Recvfrom(int(fd), p, syscall.MSG_PEEK|syscall.MSG_DONTWAIT)
}
