//go:build linux

package netwait

import (
	"errors"
	"os"
	"testing"
	"time"
)

// TestWaitRead: after a read left the socket empty and a write went to the
// peer, WaitRead parks until the peer's bytes are there, then the Read
// finds them; it returns at once when a read could find something, and
// ends for the read deadline as a Read does.
func TestWaitRead(t *testing.T) {
	a, b := pair(t)
	c := Wrap(b).(*Conn)
	// Nothing read yet: the read would read first, so no wait.
	if err := c.WaitRead(); err != nil {
		t.Fatalf("first WaitRead: %v", err)
	}
	a.Write([]byte("q"))
	if n, err := c.Read(make([]byte, 16)); n != 1 || err != nil {
		t.Fatalf("read = %d, %v", n, err)
	}
	// Empty, and nothing written since: still no wait.
	if err := c.WaitRead(); err != nil {
		t.Fatalf("WaitRead before a write: %v", err)
	}
	c.Write([]byte("answer"))
	a.Write([]byte("r"))
	if err := c.WaitRead(); err != nil {
		t.Fatalf("WaitRead: %v", err)
	}
	if n, err := c.Read(make([]byte, 16)); n != 1 || err != nil {
		t.Fatalf("read = %d, %v", n, err)
	}
	c.Write([]byte("answer"))
	// The runtime notes each arrival's readiness when its poller sees it,
	// which may be after the read that took the bytes (the read of "r"
	// found them without a wait): such a stale edge ends the next wait at
	// once, by design. Only a wait that keeps ending with nothing there
	// is wrong.
	var done chan error
	for stale := 0; ; stale++ {
		done = make(chan error, 1)
		go func() { done <- c.WaitRead() }()
		select {
		case err := <-done:
			if err != nil || stale == 2 {
				t.Fatalf("WaitRead returned %v before the peer sent anything (%d times)", err, stale+1)
			}
			c.empty = true // it found nothing: the socket is still empty
			continue
		case <-time.After(50 * time.Millisecond):
		}
		break
	}
	a.Write([]byte("next"))
	select {
	case err := <-done:
		if err != nil {
			t.Fatalf("WaitRead: %v", err)
		}
	case <-time.After(5 * time.Second):
		t.Fatal("WaitRead did not end when the peer sent")
	}
	buf := make([]byte, 16)
	if n, err := c.Read(buf); err != nil || string(buf[:n]) != "next" {
		t.Fatalf("read after WaitRead = %q, %v", buf[:n], err)
	}
	// The deadline ends a wait, as it ends a Read.
	c.Write([]byte("answer"))
	b.SetReadDeadline(time.Now().Add(20 * time.Millisecond))
	if err := c.WaitRead(); !errors.Is(err, os.ErrDeadlineExceeded) {
		t.Fatalf("WaitRead past its deadline = %v", err)
	}
}
