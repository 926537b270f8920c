//go:build linux

package hangup

import (
	"net"
	"testing"
	"time"

	"github.com/shardgate/shardgate/internal/netwait"
)

func pair(t *testing.T) (net.Conn, net.Conn) {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	accepted := make(chan net.Conn, 1)
	go func() {
		c, _ := ln.Accept()
		accepted <- c
	}()
	a, err := net.Dial("tcp", ln.Addr().String())
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

func TestSeen(t *testing.T) {
	a, b := pair(t)
	if Seen(b) {
		t.Fatal("an idle open connection is seen gone")
	}
	a.Write([]byte("pipelined"))
	time.Sleep(20 * time.Millisecond)
	if Seen(b) {
		t.Fatal("bytes waiting are seen as a hang-up")
	}
	b.SetReadDeadline(time.Now().Add(-time.Second))
	if Seen(b) {
		t.Fatal("a passed read deadline is seen as a hang-up")
	}
	b.SetReadDeadline(time.Time{})
	buf := make([]byte, 64)
	if n, err := b.Read(buf); err != nil || string(buf[:n]) != "pipelined" {
		t.Fatalf("read = %q, %v", buf[:n], err)
	}
	a.Close()
	deadline := time.Now().Add(5 * time.Second)
	for !Seen(b) {
		if time.Now().After(deadline) {
			t.Fatal("the peer's close is never seen")
		}
		time.Sleep(5 * time.Millisecond)
	}
	b.Close()
	if !Seen(b) {
		t.Fatal("a closed connection is not seen gone")
	}
}

// TestSeenKeepsReadiness: a session reads its client through
// internal/netwait, and looks for a hang-up while its statement waits for
// a server connection. A peek that reset the socket's readiness (as a
// RawConn.Read does) would leave a message the client sent meanwhile
// unread until the next one came.
func TestSeenKeepsReadiness(t *testing.T) {
	a, b := pair(t)
	r := netwait.Wrap(b)
	a.Write([]byte("query"))
	buf := make([]byte, 64)
	if n, err := r.Read(buf); n != 5 || err != nil {
		t.Fatalf("first read = %d, %v", n, err)
	}
	a.Write([]byte("sync"))
	time.Sleep(50 * time.Millisecond) // the netpoller sees it arrive
	if Seen(b) {
		t.Fatal("seen gone")
	}
	b.SetReadDeadline(time.Now().Add(2 * time.Second))
	if n, err := r.Read(buf); err != nil || string(buf[:n]) != "sync" {
		t.Fatalf("read after the peek = %q, %v", buf[:n], err)
	}
}
