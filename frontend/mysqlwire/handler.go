package mysqlwire

import (
	"github.com/shardgate/shardgate/internal/sqlerr"
	vmysql "vitess.io/vitess/go/mysql"
	"vitess.io/vitess/go/mysql/replication"
	"vitess.io/vitess/go/mysql/sqlerror"
	"vitess.io/vitess/go/sqltypes"
	querypb "vitess.io/vitess/go/vt/proto/query"
	"vitess.io/vitess/go/vt/vtenv"
)

// handler is vitess's Handler: it hands each command to the connection's
// session. vitess serializes the calls of one connection and runs
// connections concurrently, each in its own goroutine.
type handler struct {
	s *Server
}

var _ vmysql.Handler = (*handler)(nil)

func sessionOf(c *vmysql.Conn) *session { return c.ClientData.(*session) }

func (h *handler) NewConnection(c *vmysql.Conn) {
	ss := newSession(h.s, c)
	c.ClientData = ss
	c.StatusFlags = vmysql.ServerStatusAutocommit
	h.s.add(ss)
}

func (h *handler) ConnectionReady(c *vmysql.Conn) {}

func (h *handler) ConnectionClosed(c *vmysql.Conn) {
	ss := sessionOf(c)
	ss.close()
	h.s.remove(ss)
}

func (h *handler) ComQuery(c *vmysql.Conn, query string, callback func(*sqltypes.Result) error) error {
	h.s.queries.Add(1)
	ss := sessionOf(c)
	ss.rawOK = true
	err := ss.query(query, callback)
	ss.rawOK = false
	ss.failed(err)
	return h.s.counted(err)
}

// ComQueryMulti is not used: the listener splits multi-statement texts
// and calls ComQuery for each (ListenerConfig.MultiQuery is off).
func (h *handler) ComQueryMulti(c *vmysql.Conn, sql string, callback func(qr sqltypes.QueryResponse, more bool, firstPacket bool) error) error {
	return errNotSupported("multi-query mode")
}

func (h *handler) ComPrepare(c *vmysql.Conn, query string) ([]*querypb.Field, uint16, error) {
	if len(c.PrepareData) >= maxPreparedPerClient {
		// The statements live in the proxy (vitess keeps each one's text
		// and types): bounded as MariaDB bounds a session's.
		e := sqlerr.New("42000", "Can't create more than max_prepared_stmt_count statements (current value: %d)", maxPreparedPerClient)
		e.Number = 1461 // ER_MAX_PREPARED_STMT_COUNT_REACHED
		return nil, 0, mysqlError(e)
	}
	fields, n, err := sessionOf(c).prepare(query)
	return fields, n, mysqlError(err)
}

// maxPreparedPerClient is MariaDB's default max_prepared_stmt_count.
const maxPreparedPerClient = 16382

func (h *handler) ComStmtExecute(c *vmysql.Conn, prepare *vmysql.PrepareData, callback func(*sqltypes.Result) error) error {
	ss := sessionOf(c)
	err := ss.execute(prepare, callback)
	ss.failed(err)
	return mysqlError(err)
}

// counted counts a statement's error and encodes it for vitess.
func (s *Server) counted(err error) error {
	if err != nil {
		s.errors.Add(1)
	}
	return mysqlError(err)
}

func (h *handler) ComRegisterReplica(c *vmysql.Conn, replicaHost string, replicaPort uint16, replicaUser string, replicaPassword string) error {
	return errNotSupported("COM_REGISTER_SLAVE")
}

func (h *handler) ComBinlogDump(c *vmysql.Conn, logFile string, binlogPos uint32) error {
	return errNotSupported("COM_BINLOG_DUMP")
}

func (h *handler) ComBinlogDumpGTID(c *vmysql.Conn, logFile string, logPos uint64, gtidSet replication.GTIDSet, flags uint16) error {
	return errNotSupported("COM_BINLOG_DUMP_GTID")
}

func (h *handler) WarningCount(c *vmysql.Conn) uint16 { return sessionOf(c).warnings }

func (h *handler) ComResetConnection(c *vmysql.Conn) { sessionOf(c).resetConnection() }

func (h *handler) Env() *vtenv.Environment { return h.s.env }

func errNotSupported(what string) error {
	return sqlerror.NewSQLErrorf(sqlerror.ERNotSupportedYet, "42000", "%s is not supported by shardgate", what)
}
