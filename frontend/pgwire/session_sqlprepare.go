package pgwire

import (
	"strconv"
	"strings"
	"unicode/utf8"

	"github.com/shardgate/shardgate/internal/sqlerr"
	"github.com/shardgate/shardgate/parser"
	"github.com/shardgate/shardgate/router"
	"github.com/shardgate/shardgate/shardmap"
)

// SQL-level prepared statements (PREPARE, EXECUTE, DEALLOCATE) live in the
// session, never under the client's name on a server connection: under
// transaction pooling another client may prepare the same name there with
// another text. PREPARE records the statement (after the server checked
// it); EXECUTE routes the recorded statement by its arguments, makes sure
// the chosen connection has it prepared under a name of its own (sgq1,
// sgq2, …, kept like the protocol-level cache across sessions), and sends
// the client's EXECUTE text naming that statement; DEALLOCATE only forgets.
// Session pooling does the same: a passed-through EXECUTE would run on
// whichever shard the session touched first, whatever its arguments.

// sqlStmt is a statement the client prepared with SQL PREPARE.
type sqlStmt struct {
	// prefix and suffix are the client's PREPARE text around its name:
	// a server connection prepares prefix + its own name + suffix, so that
	// the server's error positions point where the client's text has them.
	prefix, suffix string
	nameChars      int // the characters of the client's name token
	nparams        int // declared types, or the highest $n if more
	stmt           *parser.Statement
	lits           []parser.Literal
	// key is the declared types and the statement text: the
	// per-connection cache key.
	key string
}

// sqlPrepare handles SQL-level PREPARE, EXECUTE and DEALLOCATE in a simple
// query, and refuses the forms it cannot replay. handled reports whether
// it answered the query.
func (s *session) sqlPrepare(stmt *parser.Statement, sql string, lits []parser.Literal) (handled bool, err error) {
	if len(stmt.Parts) > 0 {
		for _, p := range stmt.Parts {
			if isSQLPrepareKind(p.Kind) {
				return true, s.simpleError(errSQLPrepareNotAlone(false))
			}
		}
		return false, nil
	}
	switch stmt.Kind {
	case parser.KindPrepare:
		return true, s.sqlPrepareStmt(stmt, sql)
	case parser.KindExecute:
		return true, s.sqlExecute(stmt, sql, lits)
	case parser.KindDeallocate:
		return true, s.sqlDeallocate(stmt)
	case parser.KindUtility, parser.KindDDL:
		if executesPrepared(sql) {
			return true, s.simpleError(sqlerr.New(sqlerr.FeatureNotSupported, "EXPLAIN EXECUTE and CREATE TABLE … AS EXECUTE are not supported by shardgate: SQL-level prepared statements live in the proxy, not on a server connection").
				WithHint("Use the prepared statement's own text with its values."))
		}
	}
	return false, nil
}

func isSQLPrepareKind(k parser.Kind) bool {
	return k == parser.KindPrepare || k == parser.KindExecute || k == parser.KindDeallocate
}

// errSQLPrepareNotAlone refuses PREPARE, EXECUTE or DEALLOCATE where the
// proxy cannot take them out of the text: inside a multi-statement query,
// or through the extended protocol.
func errSQLPrepareNotAlone(extended bool) *sqlerr.Error {
	where := "inside a multi-statement query"
	if extended {
		where = "through the extended query protocol"
	}
	return sqlerr.New(sqlerr.FeatureNotSupported, "PREPARE, EXECUTE and DEALLOCATE %s are not supported by shardgate", where).
		WithHint("Send each as a query of its own (shardgate keeps such statements in the session and replays them), or use protocol-level prepared statements.")
}

var errSQLPrepareText = sqlerr.New(sqlerr.FeatureNotSupported, "shardgate could not find the statement name in this text").
	WithHint("Write the name as a plain or double-quoted identifier: PREPARE name [(types)] AS statement, EXECUTE name [(arguments)].")

// sqlPrepareStmt is PREPARE name [(types)] AS statement.
func (s *session) sqlPrepareStmt(stmt *parser.Statement, sql string) error {
	info := stmt.Prepare
	if info == nil {
		return s.simpleError(errSQLPrepareText)
	}
	if _, dup := s.sqlStmts[info.Name]; dup {
		return s.simpleError(sqlerr.New("42P05", "prepared statement %q already exists", info.Name))
	}
	if _, dup := s.stmts[info.Name]; dup && info.Name != "" {
		return s.simpleError(sqlerr.New("42P05", "prepared statement %q already exists", info.Name))
	}
	p, ok := splitPrepare(sql, info.Name)
	if !ok {
		return s.simpleError(errSQLPrepareText)
	}
	inner, lits, err := s.opts.Analyzer.Analyze(p.body, nil)
	if err != nil {
		return s.simpleError(err)
	}
	if err := s.checkPoolable(inner, false); err != nil {
		return s.simpleError(err)
	}
	ps := &sqlStmt{
		prefix: sql[:p.nameStart], suffix: sql[p.nameEnd:],
		nameChars: utf8.RuneCountInString(sql[p.nameStart:p.nameEnd]),
		nparams:   max(info.ParamTypes, inner.ParamCount),
		stmt:      inner, lits: lits,
		key: p.types + "\x00" + p.body,
	}
	// Postgres checks the statement at PREPARE: so does a server, which
	// keeps it prepared for the EXECUTEs to come.
	l := s.txLink
	side := l == nil
	if !side {
		s.restoreStartup(l) // the statement is checked under the startup values
	}
	if side {
		shard, err := s.prepareShard(ps)
		if err != nil {
			return s.simpleError(err)
		}
		// Like a Describe, this does not choose the transaction's shard.
		if l, err = s.linkForUse(shard, false); err != nil {
			return s.simpleError(err)
		}
	}
	s.queryFailed = false
	s.ensureSQLPrepared(l, ps)
	if err := s.drain(false); err != nil {
		return err
	}
	failed := s.queryFailed
	s.statementDone()
	if side {
		if s.batch == l {
			s.batch = nil
		}
		s.releaseLink(l)
	}
	if failed {
		// The server's error reached the client; in a transaction block
		// it fails the transaction, as on Postgres.
		if s.txOpen {
			s.txFailed = true
		}
		return s.finishLocal()
	}
	if s.sqlStmts == nil {
		s.sqlStmts = make(map[string]*sqlStmt)
	}
	s.sqlStmts[info.Name] = ps
	s.queueTag("PREPARE")
	return s.finishLocal()
}

// prepareShard picks where a PREPARE is checked: where the statement's
// literals route it, else any shard (they share the schema).
func (s *session) prepareShard(ps *sqlStmt) (*shardmap.Shard, error) {
	snap := s.opts.Snapshot()
	ks, ok := snap.Keyspace(shardmap.Postgres, s.c.Database)
	if !ok {
		return nil, sqlerr.New("3D000", "database %q does not exist", s.c.Database)
	}
	rs := s.rs
	rs.TxShard = nil
	if plan, err := router.Route(ps.stmt, &router.Values{Literals: ps.lits}, &rs, snap); err == nil {
		if sh := s.planShard(plan); sh != nil {
			return sh, nil
		}
	}
	return s.anyShard(ks), nil
}

// ensureSQLPrepared makes sure l has ps prepared under a name of its own,
// queueing the PREPARE if not (its responses swallowed, an error relayed).
// fresh reports whether it queued one.
func (s *session) ensureSQLPrepared(l *link, ps *sqlStmt) (name string, fresh bool) {
	st := l.state
	key := prepKey{ps.key, s.pathKey}
	if name, ok := st.sqlPrepared[key]; ok {
		return name, false
	}
	if st.sqlPrepared == nil {
		st.sqlPrepared = make(map[prepKey]string)
	}
	if len(st.sqlPrepared) >= maxPreparedPerConn {
		// Start over, as the protocol-level cache does. These are the
		// connection's own statements, never a client's.
		var b strings.Builder
		for k, old := range st.sqlPrepared {
			if b.Len() > 0 {
				b.WriteString(";\n")
			}
			b.WriteString("DEALLOCATE ")
			b.WriteString(old)
			delete(st.sqlPrepared, k)
		}
		l.w.WriteQuery(b.String())
		s.queue(pending{exp: expQuery, link: l, swallow: true, quiet: true})
	}
	st.nextName++
	name = "sgq" + strconv.Itoa(st.nextName)
	l.w.WriteQuery(spliceName(ps.prefix, name, ps.nameChars, ps.suffix))
	st.sqlPrepared[key] = name
	s.queue(pending{exp: expQuery, link: l, swallow: true, undo: func() {
		if st.sqlPrepared[key] == name {
			delete(st.sqlPrepared, key)
		}
	}})
	return name, true
}

// spliceName puts a connection's own statement name in place of the
// client's name token, which was nameChars characters long. Spaces make up
// for a shorter name, so that the server's error positions are the
// client's; a name next to a word gets a space to stay a token of its own.
func spliceName(prefix, name string, nameChars int, suffix string) string {
	var b strings.Builder
	b.Grow(len(prefix) + len(name) + len(suffix) + 2)
	b.WriteString(prefix)
	pad := nameChars - len(name)
	if prefix != "" && isIdentByte(prefix[len(prefix)-1]) {
		b.WriteByte(' ')
		pad--
	}
	b.WriteString(name)
	if suffix != "" && isIdentByte(suffix[0]) {
		pad = max(pad, 1)
	}
	for ; pad > 0; pad-- {
		b.WriteByte(' ')
	}
	b.WriteString(suffix)
	return b.String()
}

func isIdentByte(c byte) bool { return isIdentStart(c) || '0' <= c && c <= '9' || c == '$' }

// sqlExecute is EXECUTE name [(arguments)]: the recorded statement, routed
// with the arguments as its parameters.
func (s *session) sqlExecute(stmt *parser.Statement, sql string, lits []parser.Literal) error {
	info := stmt.Prepare
	if info == nil {
		return s.simpleError(errSQLPrepareText)
	}
	ps, ok := s.sqlStmts[info.Name]
	if !ok {
		return s.simpleError(sqlerr.New("26000", "prepared statement %q does not exist", info.Name))
	}
	if len(info.Args) != ps.nparams {
		return s.simpleError(sqlerr.New(sqlerr.SyntaxError, "wrong number of parameters for prepared statement %q", info.Name).
			WithDetail("Expected %d parameters but got %d.", ps.nparams, len(info.Args)))
	}
	start, end, ok := executeName(sql, info.Name)
	if !ok {
		return s.simpleError(errSQLPrepareText)
	}
	target := ps.stmt
	if stmt.Hint != (parser.Hint{}) {
		// A routing hint on the EXECUTE applies to what it runs.
		cp := *ps.stmt
		cp.Hint = stmt.Hint
		target = &cp
	}
	vals := router.Values{Literals: ps.lits, Params: executeParams(ps.stmt, info.Args, lits), Bound: true}
	l, err := s.routeToLink(target, &vals)
	if err != nil {
		if handled, err := s.sqlExecuteScatter(err, ps.prefix+"sg"+ps.suffix, info.Args, lits); handled {
			return err // a read over several shards (session_scatter_sqlexec.go)
		}
		return s.simpleError(err)
	}
	name, fresh := s.ensureSQLPrepared(l, ps)
	if fresh {
		// Send the EXECUTE only once the statement exists: if the server
		// refuses it now (its schema changed since PREPARE), the client
		// gets that one error, and a Sync ends the statement.
		s.queryFailed = false
		if err := s.drain(false); err != nil {
			return err
		}
		if s.queryFailed {
			l.w.WriteSync()
			s.queue(pending{exp: expSync, link: l})
			return s.drain(false)
		}
	}
	l.w.WriteQuery(spliceName(sql[:start], name, utf8.RuneCountInString(sql[start:end]), sql[end:]))
	s.queryFailed = false
	s.queue(pending{exp: expQuery, link: l})
	s.askIfWrote(l)
	return s.drain(false)
}

// executeParams turns EXECUTE's arguments into the routing values of $1…$n.
// An argument the proxy cannot evaluate is unknown: if the statement may
// use it as a key, it and the parameters after it are left out (the router
// treats a missing parameter as unknown); otherwise its value does not
// matter to routing.
func executeParams(stmt *parser.Statement, args []parser.ValueRef, lits []parser.Literal) []shardmap.Value {
	params := make([]shardmap.Value, len(args))
	for i, a := range args {
		v, ok := argValue(a, lits)
		if !ok {
			if paramMayBeKey(stmt, i+1) {
				return params[:i]
			}
			v = shardmap.Null()
		}
		params[i] = v
	}
	return params
}

// argValue is the value an EXECUTE argument gives its parameter, as the
// router reads a text-format parameter: the server converts the argument
// to the parameter's type, which is the column's when the statement
// compares or stores it there.
func argValue(r parser.ValueRef, lits []parser.Literal) (shardmap.Value, bool) {
	switch r.Source {
	case parser.FromNull:
		return shardmap.Null(), true
	case parser.FromLiteral:
		if r.Index < 0 || r.Index >= len(lits) || !keyCast(r.Cast) {
			return shardmap.Value{}, false
		}
		l := lits[r.Index]
		switch l.Kind {
		case parser.LiteralInteger:
			if r.Negate {
				return shardmap.Text("-" + l.Text), true
			}
			return shardmap.Text(l.Text), true
		case parser.LiteralString:
			if !r.Negate {
				return shardmap.Text(l.Text), true
			}
		}
		// A numeric argument for an integer parameter is rounded by the
		// server: left unknown rather than guessed.
	}
	return shardmap.Value{}, false
}

// keyCast reports whether a cast keeps an argument's text as the key's.
func keyCast(c string) bool {
	switch strings.ToLower(c) {
	case "", "smallint", "integer", "bigint", "text", "character varying", "uuid":
		return true
	}
	return false
}

// paramMayBeKey reports whether $n appears where the router looks for
// keys: a key candidate or an INSERT row.
func paramMayBeKey(stmt *parser.Statement, n int) bool {
	is := func(r parser.ValueRef) bool { return r.Source == parser.FromParam && r.Index == n }
	for _, k := range stmt.Keys {
		for _, r := range k.Values {
			if is(r) {
				return true
			}
		}
	}
	if stmt.Insert != nil {
		for _, row := range stmt.Insert.Rows {
			for _, r := range row {
				if is(r) {
					return true
				}
			}
		}
	}
	return false
}

// sqlDeallocate is DEALLOCATE [PREPARE] name | ALL: the session forgets;
// the server connections keep their own statements for other sessions.
// SQL-level and protocol-level statements share one name space, as in
// Postgres: DEALLOCATE ALL forgets both (pgx's DeallocateAll, which then
// prepares its statements again under the same names), and DEALLOCATE
// name a protocol-level statement too (a driver evicting one from its
// cache).
func (s *session) sqlDeallocate(stmt *parser.Statement) error {
	info := stmt.Prepare
	if info == nil {
		return s.simpleError(errSQLPrepareText)
	}
	if info.All {
		clear(s.sqlStmts)
		clear(s.stmts)
		s.queueTag("DEALLOCATE ALL")
		return s.finishLocal()
	}
	if _, ok := s.sqlStmts[info.Name]; ok {
		delete(s.sqlStmts, info.Name)
	} else if _, ok := s.stmts[info.Name]; ok && info.Name != "" {
		delete(s.stmts, info.Name)
	} else {
		return s.simpleError(sqlerr.New("26000", "prepared statement %q does not exist", info.Name))
	}
	s.queueTag("DEALLOCATE")
	return s.finishLocal()
}
