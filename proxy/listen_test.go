package proxy

import (
	"context"
	"testing"
	"time"

	"github.com/jackc/pgx/v5/pgproto3"
)

// TestListenWithHalfAMessage: a LISTENing client whose next message has
// only partly arrived when a notification comes gets the notification,
// and then its statement answered once the rest arrives (the proxy's
// watcher interrupts the client read with a deadline in the past; the
// read of the message's rest used to meet that deadline, and the session
// ended as if idle too long).
func TestListenWithHalfAMessage(t *testing.T) {
	ctx := context.Background()
	hj, fe := rvRaw(t, proxyURL)
	fe.Send(&pgproto3.Query{String: "LISTEN half_chan"})
	if err := fe.Flush(); err != nil {
		t.Fatal(err)
	}
	untilReady(t, fe)
	msg, err := (&pgproto3.Query{String: "SELECT 42"}).Encode(nil)
	if err != nil {
		t.Fatal(err)
	}
	half := len(msg) / 2
	if _, err := hj.Conn.Write(msg[:half]); err != nil {
		t.Fatal(err)
	}
	time.Sleep(100 * time.Millisecond) // the proxy reads the first half
	other := dial(t, proxyURL)
	if _, err := other.Exec(ctx, "NOTIFY half_chan, 'x'"); err != nil {
		t.Fatal(err)
	}
	got, err := fe.Receive()
	if n, ok := got.(*pgproto3.NotificationResponse); err != nil || !ok || n.Channel != "half_chan" {
		t.Fatalf("waiting for the notification: %#v, %v", got, err)
	}
	time.Sleep(100 * time.Millisecond) // the proxy waits for the rest
	if _, err := hj.Conn.Write(msg[half:]); err != nil {
		t.Fatal(err)
	}
	var value string
	for {
		m, err := fe.Receive()
		if err != nil {
			t.Fatalf("after the message's rest: %v (value %q)", err, value)
		}
		switch m := m.(type) {
		case *pgproto3.DataRow:
			value = string(m.Values[0])
		case *pgproto3.ErrorResponse:
			t.Fatalf("after the message's rest: %s %s", m.Code, m.Message)
		case *pgproto3.ReadyForQuery:
			if value != "42" {
				t.Fatalf("SELECT 42 answered %q", value)
			}
			return
		}
	}
}

// untilReady reads until ReadyForQuery, failing on an error.
func untilReady(t *testing.T, fe *pgproto3.Frontend) {
	t.Helper()
	for {
		m, err := fe.Receive()
		if err != nil {
			t.Fatal(err)
		}
		switch m := m.(type) {
		case *pgproto3.ErrorResponse:
			t.Fatalf("%s %s", m.Code, m.Message)
		case *pgproto3.ReadyForQuery:
			return
		}
	}
}
