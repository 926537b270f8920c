package pgwire

import (
	"context"
	"encoding/binary"
	"errors"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/shardgate/shardgate/internal/sqlerr"
)

func TestMaxClientConns(t *testing.T) {
	const limit = 3
	ts := startServer(t, func(o *Options) { o.MaxClientConns = limit })
	var first *testSession
	for i := 0; i < limit; i++ {
		conn, err := connect(t, ts, "alice", testPassword, "sslmode=disable")
		if err != nil {
			t.Fatalf("client %d: %v", i+1, err)
		}
		if i == 0 {
			first = sessionOf(t, ts, conn)
			defer conn.Close(context.Background())
		}
	}
	_, err := connect(t, ts, "alice", testPassword, "sslmode=disable")
	pe := pgError(t, err)
	if pe.Code != sqlerr.TooManyConnections || pe.Message != "sorry, too many clients already" || pe.Severity != "FATAL" {
		t.Fatalf("client %d: %+v", limit+1, pe)
	}
	// A client in authentication holds a slot too.
	c := dialRaw(t, ts)
	c.send(startupPacket(v30, "user", "alice"))
	c.expectError(sqlerr.TooManyConnections)

	// Cancel requests are still served at the limit.
	if err := sendCancel(ts.addr, first.c.ProcessID, binary.BigEndian.AppendUint32(nil, first.c.SecretKey)); err != nil {
		t.Fatal(err)
	}
	waitFor(t, func() bool { return first.cancels.Load() == 1 })

	// A client that leaves frees its slot.
	waitFor(t, func() bool { return len(ts.h.all()) == limit })
	for _, s := range ts.h.all() {
		if s == first {
			continue
		}
		s.c.Conn().Close()
		<-s.done
		break
	}
	waitFor(t, func() bool {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		conn, err := pgx.Connect(ctx, ts.connString("alice", testPassword, "sslmode=disable"))
		if err != nil {
			return false
		}
		conn.Close(ctx)
		return true
	})
}

func TestStartupTimeout(t *testing.T) {
	ts := startServer(t, func(o *Options) { o.StartupTimeout = 300 * time.Millisecond })
	start := time.Now()
	// Silent client.
	silent := dialRaw(t, ts)
	// Client stalled in the middle of SCRAM.
	stalled := dialRaw(t, ts)
	stalled.send(startupPacket(v30, "user", "alice"))
	stalled.expectSASL()
	// A good client is not held up meanwhile.
	if _, err := connect(t, ts, "alice", testPassword, "sslmode=disable"); err != nil {
		t.Fatal(err)
	}
	silent.expectClosed()
	stalled.expectClosed()
	if d := time.Since(start); d < 250*time.Millisecond || d > 5*time.Second {
		t.Fatalf("closed after %s, want about 300ms", d)
	}
	waitFor(t, func() bool {
		n := 0
		for _, f := range ts.ev.startupFailures() {
			if errors.Is(f.Err, ErrStartupTimeout) && f.Code == "" {
				n++
			}
		}
		return n == 2
	})
}

func TestStartupTimeoutCoversTLSHandshake(t *testing.T) {
	ts := startServer(t, func(o *Options) {
		withTLS(t, "prefer", nil)(o)
		o.StartupTimeout = 300 * time.Millisecond
	})
	c := dialRaw(t, ts)
	c.send(untyped(sslRequestCode))
	if b := c.readByte(); b != 'S' {
		t.Fatalf("SSLRequest answered %q", b)
	}
	// No ClientHello: the handshake waits until the deadline.
	c.expectClosed()
}

func TestMaxStartupMessage(t *testing.T) {
	ts := startServer(t, func(o *Options) { o.MaxStartupMessage = 1000 })
	long := make([]byte, 1000)
	for i := range long {
		long[i] = 'x'
	}
	c := dialRaw(t, ts)
	c.send(startupPacket(v30, "user", "alice", "application_name", string(long)))
	c.expectError(sqlerr.ProtocolViolation)
	// Just under the limit is fine.
	c = dialRaw(t, ts)
	c.send(startupPacket(v30, "user", "alice", "application_name", string(long[:1000-8-len("user\x00alice\x00application_name\x00\x00\x00")])))
	c.expectSASL()
	// SASL messages are bounded too.
	c.send(saslInitial("SCRAM-SHA-256", "n,,n=,r="+string(long)))
	c.expectError(sqlerr.ProtocolViolation)
}

// When every startup slot is taken by idle connections, Serve waits
// instead of accepting more; a slot freed lets the next one in.
func TestStartupSlotsBackpressure(t *testing.T) {
	ts := startServer(t, func(o *Options) {
		o.MaxClientConns = 2
		o.StartupTimeout = 500 * time.Millisecond
	})
	dialRaw(t, ts)
	dialRaw(t, ts)
	start := time.Now()
	// Queued in the backlog until an idle one times out.
	if _, err := connect(t, ts, "alice", testPassword, "sslmode=disable"); err != nil {
		t.Fatal(err)
	}
	if d := time.Since(start); d < 300*time.Millisecond {
		t.Fatalf("third connection served after %s, before a slot was free", d)
	}
}
