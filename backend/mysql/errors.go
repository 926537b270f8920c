package mysql

import (
	"context"
	"errors"
	"strings"

	"vitess.io/vitess/go/mysql/sqlerror"

	"github.com/shardgate/shardgate/internal/sqlerr"
)

// ErrPoolClosed is the cause of the errors of Acquire on a closed pool.
var ErrPoolClosed = errors.New("mysql backend: pool closed")

// MySQL error numbers and SQLSTATEs the backend raises itself, as MariaDB
// would for the same situation.
const (
	erConCount         = 1040 // ER_CON_COUNT_ERROR
	erServerShutdown   = 1053
	erQueryInterrupted = 1317
	erTooBigSelect     = 1104 // ER_TOO_BIG_SELECT
	crConnHostError    = 2003
	crServerLost       = 2013
)

// ServerError returns the server's own error in err's chain: its number
// and SQLSTATE are the server's, to be sent to the client as they are.
func ServerError(err error) (num uint16, state, msg string, ok bool) {
	var se *sqlerror.SQLError
	if !errors.As(err, &se) || isClientError(se) {
		return 0, "", "", false
	}
	return uint16(se.Num), se.State, se.Message, true
}

// isClientError: vitess's client raises 2000–2999 (CR_*) for lost
// connections and protocol trouble; the server never does.
func isClientError(se *sqlerror.SQLError) bool { return se.Num >= 2000 && se.Num < 3000 }

// execError turns an error of a statement into a *sqlerr.Error, marking
// the connection broken unless the server answered with an ERR packet
// (after which the connection is ready for the next statement).
func (c *Conn) execError(err error) *sqlerr.Error {
	var se *sqlerror.SQLError
	if errors.As(err, &se) && !isClientError(se) {
		// An ERR packet carries no status flags. A failed statement can
		// still have opened a transaction (autocommit off) or ended one
		// (a deadlock rolls it back): ask, with a statement that does
		// nothing, whose OK carries them.
		if c.flags&StatusAutocommit == 0 || c.flags&StatusInTrans != 0 {
			c.refreshFlags()
		}
		state := se.State
		if len(state) != 5 {
			state = "HY000"
		}
		if closesConnection(int(se.Num), state) || c.c.IsClosed() {
			// The server hangs up after these: the client gets the
			// server's error, the pool never gets the connection back.
			c.MarkBroken()
		}
		return &sqlerr.Error{Code: state, Number: uint16(se.Num), Message: se.Message, Err: se}
	}
	c.MarkBroken()
	return lostError(c.node, err)
}

// closesConnection reports whether a server error ends the connection:
// a packet over max_allowed_packet (1153), net read/write failures
// (1158–1161), the connection killed (1927) or the server shutting down
// (1053), and SQLSTATE class 08.
func closesConnection(num int, state string) bool {
	switch num {
	case 1053, 1153, 1158, 1159, 1160, 1161, 1927:
		return true
	}
	return strings.HasPrefix(state, "08")
}

// refreshFlags reads the server's status flags with DO 0. If that fails,
// the connection counts as in a transaction: the pool will not take it
// back, so it can never hand out locks it may hold.
func (c *Conn) refreshFlags() {
	res, err := c.c.ExecuteFetch("DO 0", 0, false)
	if err != nil {
		c.flags |= StatusInTrans
		var se *sqlerror.SQLError
		if !errors.As(err, &se) || isClientError(se) {
			c.MarkBroken()
		}
		return
	}
	c.flags = res.StatusFlags &^ StatusMoreResults
}

// lostError: the connection to the server failed during a statement (its
// outcome is unknown).
func lostError(node string, err error) *sqlerr.Error {
	return (&sqlerr.Error{Code: "08S01", Number: crServerLost,
		Message: "Lost connection to server " + node + " during query"}).Wrap(err)
}

// dialError: logging into a server failed; nothing was sent.
func dialError(node string, err error) *sqlerr.Error {
	msg := "Can't connect to server " + node
	var se *sqlerror.SQLError
	if errors.As(err, &se) && !isClientError(se) {
		msg += ": " + se.Message
	} else if errors.Is(err, context.DeadlineExceeded) {
		msg += ": timed out"
	}
	return (&sqlerr.Error{Code: "08S01", Number: crConnHostError, Message: msg}).Wrap(err)
}

func acquireTimeoutError(node string) *sqlerr.Error {
	return &sqlerr.Error{Code: "08004", Number: erConCount,
		Message: "Too many connections: no server connection to " + node + " became free in time"}
}

func canceledError(err error) *sqlerr.Error {
	return (&sqlerr.Error{Code: "70100", Number: erQueryInterrupted, Message: "Query execution was interrupted while waiting for a server connection"}).Wrap(err)
}

func closedError(node string) *sqlerr.Error {
	return (&sqlerr.Error{Code: "08S01", Number: erServerShutdown, Message: "Server shutdown in progress: the pool for " + node + " is closed"}).Wrap(ErrPoolClosed)
}
