package pgwire

import (
	"context"
	"testing"
	"time"
)

// cancelCountingConn records the cancels delivered to it.
type cancelCountingConn struct {
	ServerConn
	cancels chan struct{}
}

func (c *cancelCountingConn) Cancel(context.Context) error {
	c.cancels <- struct{}{}
	return nil
}

// readWhileIdle is what serve does when it reads a request with nothing in
// flight.
func (s *session) readWhileIdle() { s.cancelsSeen.Store(s.cancels.Load()) }

// A cancel that comes after the session read the statement, before the
// statement is in flight, reaches it when it goes in flight; a cancel that
// came while the session was idle does not reach the next statement.
func TestCancelBeforeInFlight(t *testing.T) {
	s := &session{ctx: context.Background()}

	s.cancel() // idle: nothing runs, Postgres would ignore it
	if n := runStatement(s); n != 0 {
		t.Fatalf("a cancel sent while idle reached the next statement (%d deliveries)", n)
	}

	s.readWhileIdle()
	s.cancel() // the statement was read, not yet sent
	conn := &cancelCountingConn{cancels: make(chan struct{}, 100)}
	s.setActive(conn)
	select {
	case <-conn.cancels:
	case <-time.After(5 * time.Second):
		t.Fatal("a cancel between the read and the send never reached the statement")
	}
	s.statementDone()
	s.lateCancels.Wait() // the repeats end with the statement

	// Delivered once: the next statement is not cancelled by it.
	if n := runStatement(s); n != 0 {
		t.Fatalf("a delivered cancel reached the next statement too (%d deliveries)", n)
	}
}

// runStatement reads a statement while idle and runs it to its end on a
// connection of its own; it returns the cancels that reached it.
func runStatement(s *session) int {
	s.readWhileIdle()
	conn := &cancelCountingConn{cancels: make(chan struct{}, 100)}
	s.setActive(conn)
	s.lateCancels.Wait()
	s.statementDone()
	return len(conn.cancels)
}
