package pgwire

import (
	"context"
	"encoding/binary"
	"fmt"
	"io"
	"net"
	"sync"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/shardgate/shardgate/config"
)

// sendCancel sends a CancelRequest on a new connection and waits for the
// server to close it, as libpq does.
func sendCancel(addr string, pid uint32, secret []byte) error {
	nc, err := net.DialTimeout("tcp", addr, 5*time.Second)
	if err != nil {
		return err
	}
	defer nc.Close()
	nc.SetDeadline(time.Now().Add(10 * time.Second))
	b := binary.BigEndian.AppendUint32(nil, uint32(12+len(secret)))
	b = binary.BigEndian.AppendUint32(b, cancelRequestCode)
	b = binary.BigEndian.AppendUint32(b, pid)
	if _, err := nc.Write(append(b, secret...)); err != nil {
		return err
	}
	n, err := io.Copy(io.Discard, nc)
	if err != nil || n != 0 {
		return fmt.Errorf("cancel answered %d bytes, %v; want a plain close", n, err)
	}
	return nil
}

// sessionOf returns the test session behind a pgx connection.
func sessionOf(t *testing.T, ts *testServer, conn *pgx.Conn) *testSession {
	t.Helper()
	s := ts.h.session(conn.PgConn().PID())
	if s == nil {
		t.Fatal("no session for the connection")
	}
	return s
}

// settle gives wrongly dispatched cancels time to show up.
func settle() { time.Sleep(100 * time.Millisecond) }

func TestCancelReachesOnlyItsSession(t *testing.T) {
	ts := startServer(t, nil)
	a, err := connect(t, ts, "alice", testPassword, "sslmode=disable")
	if err != nil {
		t.Fatal(err)
	}
	b, err := connect(t, ts, "bob", testPassword, "sslmode=disable")
	if err != nil {
		t.Fatal(err)
	}
	sa, sb := sessionOf(t, ts, a), sessionOf(t, ts, b)

	// pgx's own cancel.
	if err := a.PgConn().CancelRequest(context.Background()); err != nil {
		t.Fatal(err)
	}
	waitFor(t, func() bool { return sa.cancels.Load() == 1 })
	settle()
	if sa.cancels.Load() != 1 || sb.cancels.Load() != 0 {
		t.Fatalf("cancels: a %d, b %d; want 1, 0", sa.cancels.Load(), sb.cancels.Load())
	}

	// Wrong keys do nothing.
	aKey, bKey := a.PgConn().SecretKey(), b.PgConn().SecretKey()
	wrong := append([]byte(nil), aKey...)
	wrong[3] ^= 1
	for _, tc := range []struct {
		pid    uint32
		secret []byte
	}{
		{a.PgConn().PID(), wrong},                    // wrong secret
		{b.PgConn().PID(), aKey},                     // another pid with a's secret
		{a.PgConn().PID() ^ 0x40000000, aKey},        // unknown pid
		{a.PgConn().PID(), append(aKey, 0, 0, 0, 0)}, // 3.2-length secret
		{a.PgConn().PID(), aKey[:3]},                 // short secret: a protocol error
	} {
		if err := sendCancel(ts.addr, tc.pid, tc.secret); err != nil {
			t.Fatal(err)
		}
	}
	settle()
	if sa.cancels.Load() != 1 || sb.cancels.Load() != 0 {
		t.Fatalf("wrong keys cancelled: a %d, b %d", sa.cancels.Load(), sb.cancels.Load())
	}
	if err := sendCancel(ts.addr, b.PgConn().PID(), bKey); err != nil {
		t.Fatal(err)
	}
	waitFor(t, func() bool { return sb.cancels.Load() == 1 })

	ts.ev.mu.Lock()
	cancels := append([]CancelInfo(nil), ts.ev.cancels...)
	ts.ev.mu.Unlock()
	if len(cancels) != 6 {
		t.Fatalf("%d CancelRequest events, want 6 (the short one is a StartupFailed): %+v", len(cancels), cancels)
	}
	for i, want := range []bool{true, false, false, false, false, true} {
		if cancels[i].Matched != want || cancels[i].Delivered != want {
			t.Errorf("event %d: %+v, want matched %v", i, cancels[i], want)
		}
	}
}

func TestCancelAfterClearCanceler(t *testing.T) {
	ts := startServer(t, nil)
	a, err := connect(t, ts, "alice", testPassword, "sslmode=disable")
	if err != nil {
		t.Fatal(err)
	}
	sa := sessionOf(t, ts, a)
	sa.c.ClearCanceler()
	if err := a.PgConn().CancelRequest(context.Background()); err != nil {
		t.Fatal(err)
	}
	settle()
	if sa.cancels.Load() != 0 {
		t.Fatal("cleared canceler called")
	}
	ts.ev.mu.Lock()
	defer ts.ev.mu.Unlock()
	if len(ts.ev.cancels) != 1 || !ts.ev.cancels[0].Matched || ts.ev.cancels[0].Delivered {
		t.Fatalf("events %+v", ts.ev.cancels)
	}
}

// pgx sends its cancel over TLS when the connection uses TLS.
func TestCancelOverTLS(t *testing.T) {
	ts := startServer(t, withTLS(t, config.ServerTLSRequire, nil))
	a, err := connect(t, ts, "alice", testPassword, "sslmode=require")
	if err != nil {
		t.Fatal(err)
	}
	sa := sessionOf(t, ts, a)
	if err := a.PgConn().CancelRequest(context.Background()); err != nil {
		t.Fatal(err)
	}
	waitFor(t, func() bool { return sa.cancels.Load() == 1 })
}

func TestConcurrentCancels(t *testing.T) {
	const sessions, perSession = 50, 20
	ts := startServer(t, nil)
	type key struct {
		pid    uint32
		secret []byte
		s      *testSession
	}
	keys := make([]key, sessions)
	for i := range keys {
		conn, err := connect(t, ts, "alice", testPassword, "sslmode=disable")
		if err != nil {
			t.Fatal(err)
		}
		keys[i] = key{conn.PgConn().PID(), conn.PgConn().SecretKey(), sessionOf(t, ts, conn)}
	}
	var wg sync.WaitGroup
	errs := make(chan error, sessions*perSession)
	for i := 0; i < sessions*perSession; i++ {
		k := keys[i%sessions]
		wg.Add(1)
		go func() {
			defer wg.Done()
			if err := sendCancel(ts.addr, k.pid, k.secret); err != nil {
				errs <- err
			}
		}()
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Fatal(err)
	}
	for _, k := range keys {
		waitFor(t, func() bool { return k.s.cancels.Load() >= perSession })
	}
	settle()
	for i, k := range keys {
		if n := k.s.cancels.Load(); n != perSession {
			t.Fatalf("session %d got %d cancels, want %d", i, n, perSession)
		}
	}
}

func TestProcessIDsUnique(t *testing.T) {
	s, err := NewServer(Options{Handler: newTestHandler(), Users: lookupUser})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	seen := map[uint32]bool{}
	var clients []*ClientConn
	for i := 0; i < 5000; i++ {
		c := &ClientConn{}
		s.register(c)
		if seen[c.ProcessID] || c.ProcessID == 0 || c.ProcessID > 1<<31-1 {
			t.Fatalf("pid %d repeated or out of range", c.ProcessID)
		}
		seen[c.ProcessID] = true
		clients = append(clients, c)
	}
	for _, c := range clients {
		s.unregister(c)
	}
	if len(s.keys) != 0 {
		t.Fatalf("%d keys left", len(s.keys))
	}
}
