package pgwire

import (
	"encoding/binary"
	"sync/atomic"
	"time"

	"github.com/shardgate/shardgate/internal/pgio"
	"github.com/shardgate/shardgate/parser"
)

// A portal's Describe answered by the proxy.
//
// libpq (psycopg2, pgbench, every driver on it) sends Bind, Describe
// portal, Execute, Sync for each execution of a prepared statement, and
// the server answers the Describe with the same RowDescription every time
// but for the format codes, which are the Bind's. The proxy keeps, per
// server connection and statement prepared there, the RowDescription the
// server last gave, and answers such a Describe itself: the server reads
// and answers one message less per execution (about 2 µs of its CPU per
// execution here, docs/design/describe-cache.md). pgx does the same on
// the client side since 5.8 (it describes a statement once and builds each
// portal's description from that).
//
// Why the answer is the server's: a statement prepared through the
// protocol has a fixed result type. When Postgres re-plans it (after DDL,
// or a search_path change), a result with other column names or types
// fails the Bind ("cached plan must not change result type"), and a
// Describe after a failed Bind is never answered; the proxy drops its own
// answer there as the server would. What a re-plan may change without
// failing are the table OID and column number of a column (a table
// dropped and created again with the same shape, a search_path that finds
// a same-shaped table in another schema). So a description is used only
// on the connection that gave it, under the session settings in force
// when it was given (applied), while no DDL went through this proxy since
// (ddlGen), and for describeTTL at most: DDL run on the shards directly
// is seen within that time, as the catalog's (catalog.go).

// describeTTL bounds how long a learned description is used.
const describeTTL = catalogTTL

// serverStmt is a statement prepared on one server connection.
type serverStmt struct {
	name string
	// desc is the server's last description of it (nil: none yet), valid
	// under the settings key under, DDL generation gen, until expires.
	desc    *rowDesc
	under   string
	gen     uint64
	expires time.Time
}

// rowDesc is a RowDescription body (nil for NoData) and where each
// field's format code sits in it. Immutable once made: queued answers
// hold it.
type rowDesc struct {
	body     []byte
	formatAt []int
}

// ddlGen counts transactions with DDL that ended through this proxy; a
// description learned under an older count is not used. Shared by every
// session of a Proxy (nil, in sessions made without one: always 0).
type ddlGen struct{ n atomic.Uint64 }

func (g *ddlGen) load() uint64 {
	if g == nil {
		return 0
	}
	return g.n.Load()
}

func (g *ddlGen) bump() {
	if g != nil {
		g.n.Add(1)
	}
}

// cachedDescribe returns the description to answer a Describe of portal p
// with, if the proxy can answer it itself: p runs a statement prepared on
// its connection that the server described under the session settings in
// force there now, and the Bind asked for one format (or none) for all
// columns, which is what libpq sends.
func (s *session) cachedDescribe(p *portal) (*rowDesc, int16, bool) {
	ss := p.ss
	if ss == nil || ss.desc == nil || p.formats.Len() > 1 {
		return nil, 0, false
	}
	if !s.describedUnder(ss, p.link.state) {
		return nil, 0, false
	}
	return ss.desc, p.formats.Format(0), true
}

// describedUnder reports whether ss's description holds on a connection
// in state st now.
func (s *session) describedUnder(ss *serverStmt, st *connState) bool {
	return ss.desc != nil && ss.under == st.applied && st.applied != appliedUnknown &&
		ss.gen == s.opts.ddl.load() && time.Now().Before(ss.expires)
}

// describeLearn is what a Describe sent to the server needs to remember
// its answer: the statement, and the settings and DDL generation it was
// sent under.
type describeLearn struct {
	ss    *serverStmt
	under string
	gen   uint64
}

// learnFrom makes the server's answer to a Describe the statement's
// description when it is: a statement whose connection's settings the
// proxy knows.
func (s *session) learnFrom(l *link, ss *serverStmt) *describeLearn {
	st := l.state
	if ss == nil || st.applied == appliedUnknown || s.describedUnder(ss, st) {
		return nil // unknowable, or known already (per-column formats)
	}
	return &describeLearn{ss: ss, under: st.applied, gen: s.opts.ddl.load()}
}

// learn records the server's RowDescription (or NoData, body nil).
func (dl *describeLearn) learn(typ byte, body []byte) {
	d := &rowDesc{}
	if typ == pgio.TypeRowDescription {
		d.body = append([]byte(nil), body...)
		if eachRowDescField(d.body, func(_ int, _, fixed []byte) {
			// fixed aliases d.body: its offset there is what its
			// capacity lacks of d.body's; the format code is its last
			// two bytes.
			d.formatAt = append(d.formatAt, cap(d.body)-cap(fixed)+16)
		}) != nil {
			return // malformed: the proxy keeps asking the server
		}
	}
	dl.ss.desc, dl.ss.under, dl.ss.gen = d, dl.under, dl.gen
	dl.ss.expires = time.Now().Add(describeTTL)
}

// writeRowDesc writes a learned description with format code format on
// every field.
func (s *session) writeRowDesc(d *rowDesc, format int16) {
	s.opts.Stats.DescribesAnswered.Add(1)
	if d.body == nil {
		s.out.WriteEmpty(pgio.TypeNoData)
		return
	}
	s.descBuf = append(s.descBuf[:0], d.body...)
	for _, at := range d.formatAt {
		binary.BigEndian.PutUint16(s.descBuf[at:], uint16(format))
	}
	s.out.WriteRaw(pgio.TypeRowDescription, s.descBuf)
}

// noteDDL marks the session's transaction as having run DDL, by a
// command tag it relayed (route marks the DDL it routes, wherever its
// answer goes); the DDL generation moves when the transaction is over
// (serve), so a description learned before the DDL's commit is not used
// after it.
func (s *session) noteDDL(cmd []byte) {
	if len(cmd) == 0 {
		return
	}
	switch cmd[0] {
	case 'C', 'A', 'D', 'I':
		// CREATE …, ALTER …, DROP …, IMPORT FOREIGN SCHEMA, and DO (a
		// block may run any of them).
		if hasPrefix(cmd, "CREATE") || hasPrefix(cmd, "ALTER") || hasPrefix(cmd, "DROP") ||
			string(cmd) == "DO" || string(cmd) == "IMPORT FOREIGN SCHEMA" {
			s.ranDDL = true
		}
	}
}

func hasPrefix(b []byte, prefix string) bool {
	return len(b) >= len(prefix) && string(b[:len(prefix)]) == prefix
}

// changesSchema reports whether stmt (or a statement of its text) is DDL.
func changesSchema(stmt *parser.Statement) bool {
	if stmt.Kind == parser.KindDDL {
		return true
	}
	for _, p := range stmt.Parts {
		if p.Kind == parser.KindDDL {
			return true
		}
	}
	return false
}
