package pgwire

import (
	"errors"
	"net"
	"sync/atomic"
	"time"

	"github.com/shardgate/shardgate/internal/pgio"
	"github.com/shardgate/shardgate/internal/sqlerr"
	"github.com/shardgate/shardgate/parser"
)

// Notifications while the client is idle. A session that LISTENs is
// pinned to its server connection (session_pin.go); Postgres sends a
// NotificationResponse to an idle session at once, and a client waiting
// for one (pgx WaitForNotification, psycopg's poll) sends nothing
// meanwhile. So while the session waits for its client, a watcher
// goroutine waits for that connection to become readable. When it does,
// it interrupts the client read (a read deadline in the past); the session
// stops the watcher, relays what the server sent, and goes back to
// waiting. The session owns the watcher: it always waits for it to end
// before it touches the connection again.

// watcher waits for a server connection to become readable.
type watcher struct {
	done  chan struct{}
	fired atomic.Bool
}

// listenLink is the pinned connection that LISTENs, when the session is
// idle between transactions with nothing in flight.
func (s *session) listenLink() *link {
	if s.txOpen || len(s.q) > 0 || s.inExtended || len(s.sessLinks) == 0 {
		return nil
	}
	for _, l := range s.sessLinks {
		if l.state.dirty&(1<<parser.PinListen) != 0 && l != s.batch {
			return l
		}
	}
	return nil
}

func (s *session) watch(l *link) *watcher {
	w := &watcher{done: make(chan struct{})}
	go func() {
		defer close(w.done)
		if l.conn.WaitReadable() == nil {
			w.fired.Store(true)
			s.c.Conn().SetReadDeadline(time.Now()) // wake the session
		}
	}()
	return w
}

// stop ends the watcher's wait and waits for it to end.
func (w *watcher) stop(l *link) {
	l.conn.SetDeadline(time.Now())
	<-w.done
	l.conn.SetDeadline(time.Time{})
}

// readClientWatching reads the next client message; while it waits, a
// LISTENing pinned connection's notifications are relayed.
func (s *session) readClientWatching(idle bool) (byte, []byte, error) {
	for {
		var l *link
		if s.in.Buffered() == 0 {
			l = s.listenLink()
		}
		if l == nil {
			return s.readClient(idle)
		}
		s.armReadDeadline() // before the watcher may move it
		w := s.watch(l)
		typ, body, err := s.readIn(idle)
		w.stop(l)
		if !w.fired.Load() {
			return typ, body, err
		}
		s.noDeadline = false // the watcher moved it
		var ne net.Error
		if err != nil && !(errors.As(err, &ne) && ne.Timeout()) {
			return typ, body, err
		}
		if rerr := s.relayAsync(l); rerr != nil {
			return 0, nil, rerr
		}
		if err == nil {
			return typ, body, nil
		}
		// The read was interrupted for the server: read again (a partly
		// received client message stays buffered in s.in, and the read
		// of its rest must not meet the watcher's deadline in the past).
		if s.in.Buffered() > 0 {
			s.setReadDeadline()
		}
	}
}

// relayAsync relays what an idle server connection sent: notifications,
// notices, parameter changes. Anything else (a FATAL error before the
// server goes away, EOF) ends the session.
func (s *session) relayAsync(l *link) error {
	l.conn.SetDeadline(time.Now().Add(time.Second))
	defer l.conn.SetDeadline(time.Time{})
	for {
		typ, body, err := l.r.ReadMessage()
		if err != nil {
			s.breakLink(l)
			return s.serverFailure(err)
		}
		switch typ {
		case pgio.TypeNotificationResponse, pgio.TypeNoticeResponse, pgio.TypeParameterStatus:
			s.out.WriteRaw(typ, body)
		case pgio.TypeErrorResponse:
			s.out.WriteRaw(typ, body)
			s.breakLink(l)
			return errors.Join(errServerGone, sqlerr.New(sqlerr.ConnectionFailure, "the server ended the session's LISTEN connection"))
		default:
			s.breakLink(l)
			return s.serverFailure(errors.New("unexpected message from an idle server connection"))
		}
		if l.r.Buffered() == 0 {
			return s.out.Flush()
		}
	}
}
