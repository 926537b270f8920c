package mysqlwire

import (
	"bytes"
	"errors"
	"strings"
	"unsafe"

	vmysql "vitess.io/vitess/go/mysql"
	"vitess.io/vitess/go/sqltypes"

	mysqlbackend "github.com/shardgate/shardgate/backend/mysql"
	"github.com/shardgate/shardgate/parser"
	"github.com/shardgate/shardgate/router"
	"github.com/shardgate/shardgate/shardmap"
)

// Direct commands (docs/design/mysql-direct-commands.md): a COM_QUERY or
// COM_STMT_EXECUTE that is a one-shard read on a primary, forwarded raw,
// is answered by sniffConn in the session's goroutine before vitess reads
// it. vitess never decodes the command (its execute decoding builds a
// bind-variable map, a value and a "vN" key per parameter); a prepared
// statement's values are not substituted into its text nor the text
// analysed again (its analysis with ? is kept per statement, and the key
// parameter is read from the client's bytes); the result's end is
// written here instead of being made from vitess's OK.
//
// The session's own steps run as for any statement (session.run: the
// pool, settings, KILL QUERY, status flags, counts, the failover hold).
// What would take another branch of session.query — a transaction not yet
// on a server, several shards, a replica, a pin, user variables, session
// functions, anything the router does not send to one shard — is left to
// vitess, decided before anything reaches a server or the client.

// errDirectBail: the command goes to vitess after all (the server refused
// to prepare the statement: nothing ran, nothing was written).
var errDirectBail = errors.New("mysqlwire: command left to vitess")

// directPrepared is a prepared statement's analysis, kept for its
// direct executions.
type directPrepared struct {
	query string
	stmt  *parser.Statement
	lits  []parser.Literal
	ok    bool // a read direct executions may run
}

// maxDirectPrepared bounds the analyses a session keeps.
const maxDirectPrepared = 256

// directState: the session is in a state a direct command may start
// from: a database chosen, no transaction waiting for its first
// statement, none on several shards or on a replica.
func (ss *session) directState() bool {
	return !ss.s.o.NoDirect && ss.rs.Keyspace != "" && ss.txBegin == "" && ss.txNext == "" &&
		len(ss.txOthers) == 0 && ss.txXA == nil && ss.txReplica == nil && !ss.joining && !ss.deferTx
}

// directRead: stmt (of text sql) is a read a direct command may run: a
// SELECT of tables that pins nothing, names no variable, calls no
// function the session answers itself.
func (ss *session) directRead(stmt *parser.Statement, sql string) bool {
	return stmt.Kind == parser.KindSelect && len(stmt.Parts) == 0 && len(stmt.Tables) > 0 &&
		stmt.Pins() == parser.PinNone && stmt.SessionFuncs == 0 && strings.IndexByte(sql, '@') < 0 &&
		!(strings.IndexByte(sql, '(') >= 0 && ss.rewriteSessionFunctions(sql) != sql) &&
		!(strings.IndexByte(sql, '_') >= 0 && containsFold(sql, "sql_calc_found_rows"))
}

// directQuery answers a COM_QUERY (text: its statement) if it can; false:
// nothing was done, vitess gets the command.
func (ss *session) directQuery(sc *sniffConn, text []byte) (bool, error) {
	if !ss.directState() || bytes.IndexByte(text, ';') >= 0 || !firstWordBytes(text, "select") {
		return false, nil
	}
	// The text views the client's packet (sniffConn's hold buffer, not
	// read into again before this command's answer is written): nothing
	// keeps it past the command (the analyser copies what it caches; the
	// server connection copies what it writes).
	sql := unsafe.String(unsafe.SliceData(text), len(text))
	stmt, lits, err := ss.s.o.Analyzer.Analyze(sql, ss.lits[:0])
	ss.lits = lits
	if err != nil || !ss.directRead(stmt, sql) {
		return false, nil
	}
	vals := router.Values{Literals: lits, Bound: true}
	return ss.directRun(sc, stmt, sql, &vals, nil)
}

// directExecute answers a COM_STMT_EXECUTE of prep, its parameters p
// (the client's bytes, held whole), if it can; false: nothing was done.
func (ss *session) directExecute(sc *sniffConn, prep *vmysql.PrepareData, p mysqlbackend.ExecParams) (bool, error) {
	if !ss.directState() || p.Count > 64 {
		return false, nil
	}
	d := ss.directPrepared(prep)
	if !d.ok {
		return false, nil
	}
	vals, ok := ss.directParams(p)
	if !ok {
		return false, nil
	}
	vals.Literals = d.lits
	pe := preparedExec{on: true, query: d.query, text: d.query, params: p}
	return ss.directRun(sc, d.stmt, d.query, &vals, &pe)
}

// directPrepared is prep's analysis, made on its first execution.
func (ss *session) directPrepared(prep *vmysql.PrepareData) *directPrepared {
	if d := ss.prepared[prep.StatementID]; d != nil && d.query == prep.PrepareStmt {
		return d
	}
	if ss.prepared == nil || len(ss.prepared) >= maxDirectPrepared {
		ss.prepared = map[uint32]*directPrepared{}
	}
	d := &directPrepared{query: prep.PrepareStmt}
	if stmt, lits, err := ss.s.o.Analyzer.Analyze(prep.PrepareStmt, nil); err == nil {
		d.stmt, d.lits = stmt, lits
		d.ok = ss.directRead(stmt, prep.PrepareStmt) && plainParamKeys(stmt)
	}
	ss.prepared[prep.StatementID] = d
	return d
}

// plainParamKeys: no key candidate takes a parameter through a cast or a
// minus, which the session's substituted text would read otherwise.
func plainParamKeys(stmt *parser.Statement) bool {
	for _, k := range stmt.Keys {
		for _, v := range k.Values {
			if v.Source == parser.FromParam && (v.Cast != "" || v.Negate) {
				return false
			}
		}
	}
	return true
}

// directParams reads an execution's parameters as the router's values
// (params.go's paramValue); false: they cannot be read.
func (ss *session) directParams(p mysqlbackend.ExecParams) (router.Values, bool) {
	ps := ss.params[:0]
	var unknown uint64
	v := p.Values
	for i := range p.Count {
		if p.Nulls[i/8]&(1<<(i%8)) != 0 {
			ps = append(ps, shardmap.Null())
			continue
		}
		typ, flags := p.Types[2*i], p.Types[2*i+1]
		size := paramSize(typ, v)
		if size < 0 || size > len(v) {
			return router.Values{}, false
		}
		val, ok := paramValue(typ, flags, v[:size])
		if !ok {
			unknown |= 1 << i
		}
		ps = append(ps, val)
		v = v[size:]
	}
	ss.params = ps
	return router.Values{Params: ps, Bound: true, Unknown: unknown}, true
}

// directRun routes stmt and, when it is a one-shard read on a primary the
// session can forward raw, runs it and answers the client (pe: a prepared
// statement's execution, run as one on the server).
func (ss *session) directRun(sc *sniffConn, stmt *parser.Statement, sql string, vals *router.Values, pe *preparedExec) (bool, error) {
	plan, err := ss.plan(stmt, vals)
	single, ok := plan.(*router.Single)
	if err != nil || !ok {
		return false, nil // vitess's path says why, or runs it on several shards
	}
	shard := single.Shard
	ss.target = single.Target
	if ss.conn != nil && shard != ss.shard || ss.replicaRead(stmt, sql, parser.PinNone) || ss.askGTID(stmt, shard) {
		return false, nil
	}
	ss.busy.Store(true)
	defer ss.busy.Store(false)
	sc.directBegin()
	// Counted before the answer is written: a client that reads the
	// counters after its answer sees its command in them.
	ss.s.queries.Add(1)
	ss.s.direct.Add(1)
	ss.warnings, ss.warned = 0, nil
	err = ss.acquire(shard)
	if err == nil {
		if _, ok := ss.conn.(preparedForwarder); !ok {
			ss.settle() // a connection that cannot forward: vitess's path decodes
			ss.uncountDirect(sc)
			return false, nil
		}
		ss.direct, ss.rawOK, ss.binary = sc, true, pe != nil
		if pe != nil {
			ss.pexec = *pe
		}
		ss.gtidStmt, ss.txStmt = nil, stmt
		err = ss.run(shard, sql, parser.PinNone, "", ss.directDecoded)
		ss.gtidStmt, ss.txStmt = nil, nil
		ss.direct, ss.rawOK, ss.binary, ss.pexec.on = nil, false, false, false
		if err == errDirectBail {
			ss.uncountDirect(sc)
			return false, nil
		}
		ss.noteWrite(stmt, shard)
	}
	if err != nil {
		ss.s.errors.Add(1)
		ss.failed(err)
		return true, sc.directError(ss.partRolledBack(err))
	}
	return true, nil
}

// uncountDirect undoes directRun's start for a command it gives to
// vitess after all, which counts it itself.
func (ss *session) uncountDirect(sc *sniffConn) {
	ss.s.queries.Add(^uint64(0))
	ss.s.direct.Add(^uint64(0))
	sc.directAbandon()
}

// directDecoded is run's answer callback for a direct command; run only
// calls it for a result it decoded, which a direct command never has (its
// connection forwards).
func (ss *session) directDecoded(*sqltypes.Result) error {
	return errors.New("mysqlwire: a direct command's result was decoded")
}

// firstWordBytes is firstWord over the bytes of a command.
func firstWordBytes(b []byte, w string) bool {
	i := 0
	for i < len(b) && (b[i] == ' ' || b[i] == '\t' || b[i] == '\n' || b[i] == '\r') {
		i++
	}
	if len(b)-i < len(w) {
		return false
	}
	for j := range len(w) {
		if b[i+j]|0x20 != w[j] {
			return false
		}
	}
	i += len(w)
	return i == len(b) || b[i] == ' ' || b[i] == '\t' || b[i] == '\n' || b[i] == '\r'
}
