package pgwire

import (
	"github.com/shardgate/shardgate/internal/pgio"
)

// runOwn runs sql, the proxy's own statement, as a simple query on l and
// waits for its end, outside the pending queue: nothing of the client's may
// be in flight on l. A server error comes back as failed, with l idle and
// usable; err means l failed or lost the protocol's sync and must be
// dropped. The server's ReadyForQuery status is recorded on l.
//
// It serves what must be settled before the client's statement is sent (a
// settings replay the statement depends on) or after its last one (a reset
// before the connection goes back to the pool).
func (s *session) runOwn(l *link, sql string) (failed *pgio.ErrorFields, err error) {
	l.w.WriteQuery(sql)
	if err := l.w.Flush(); err != nil {
		return nil, err
	}
	for {
		typ, body, err := l.r.ReadMessage()
		if err != nil {
			return nil, err
		}
		switch typ {
		case pgio.TypeNotificationResponse:
			// For the session that LISTENs: it is pinned to l.
			s.out.WriteRaw(typ, body)
		case pgio.TypeErrorResponse:
			if failed == nil {
				f, err := pgio.DecodeErrorFields(body)
				if err != nil {
					return nil, err
				}
				failed = &f
			}
		case pgio.TypeReadyForQuery:
			st, err := pgio.DecodeReadyForQuery(body)
			if err != nil {
				return nil, err
			}
			l.conn.SetTxStatus(st)
			return failed, nil
		}
	}
}

// stmtSep joins statement texts of the client's (a SET recorded for
// replay, a BEGIN) into one Query: the newline before the ';' ends a line
// comment the text before it may end with (`SET a = 1 -- why`), which
// would otherwise swallow the ';' and join two statements into one.
const stmtSep = "\n;\n"
