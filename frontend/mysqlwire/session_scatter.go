package mysqlwire

import (
	"context"
	"errors"
	"strconv"
	"strings"
	"sync"

	vmysql "vitess.io/vitess/go/mysql"
	"vitess.io/vitess/go/mysql/sqlerror"
	"vitess.io/vitess/go/sqltypes"

	"github.com/shardgate/shardgate/executor"
	"github.com/shardgate/shardgate/executor/myvalue"
	"github.com/shardgate/shardgate/internal/sqlerr"
	"github.com/shardgate/shardgate/parser"
	mysqlparser "github.com/shardgate/shardgate/parser/mysql"
	"github.com/shardgate/shardgate/router"
	"github.com/shardgate/shardgate/shardmap"
)

// Scatter reads (docs/design/mysql-scatter.md): a SELECT the router sends
// to several shards is rewritten by parser/mysql.RewriteScatter, runs
// concurrently on a connection per shard, and the shards' rows are merged
// by the executor with MariaDB's values (executor/myvalue) into the rows
// one database would have returned.
//
// Outside a transaction, in autocommit mode, each shard's part runs on a
// connection of its own, in its own snapshot, as the Postgres endpoint
// does outside a transaction. Inside one (or with autocommit off, where
// every read opens a transaction) each part runs on the transaction's
// connection to its shard, joining the shards it has not reached yet as
// a write would (scatterInTx), so the read sees the transaction's own
// uncommitted rows.
//
// Each shard's result is read whole, bounded by limits' max result rows
// (ER_TOO_BIG_SELECT past it); the pushed-down LIMIT keeps ordered reads
// small. Groups and distinct rows are bounded by the executor's cap
// (53200, sent as MySQL's out-of-memory error).

// scatterDecoder serves every session with the default
// div_precision_increment.
var scatterDecoder = myvalue.New()

// scatter runs a read on several shards and answers the client with the
// merged rows.
func (ss *session) scatter(p router.Scatter, stmt *parser.Statement, sql string, callback func(*sqltypes.Result) error) error {
	inTx := ss.inTx()
	if inTx {
		if err := ss.scatterTxAllowed(p); err != nil {
			return err
		}
	}
	if stmt.Pins() != parser.PinNone || hasUserVariable(sql) {
		return sqlerr.New(sqlerr.FeatureNotSupported, "a SELECT on several shards cannot use session state of one server connection (user variables, locks, temporary tables)")
	}
	shardSQL, merge, err := mysqlparser.RewriteScatter(sql, func(table string) bool {
		_, ok := p.Keyspace.Table(table)
		return ok
	}, func(probe string) (bool, error) { return ss.columnProbe(p.Shards[0], probe) })
	if err != nil {
		return err
	}
	dec, err := ss.scatterDecoder(merge)
	if err != nil {
		return err
	}
	if ss.binary {
		dec = dec.WithExactDoubles()
	}
	var results []*sqltypes.Result
	var warnings uint16
	if inTx {
		results, warnings, err = ss.scatterInTx(p, stmt, shardSQL)
	} else {
		results, warnings, err = ss.scatterRun(p, shardSQL)
	}
	if err != nil {
		return err
	}
	res, err := mergeResults(merge, dec, results, ss.s.o.MaxMergeGroups, func(cols []executor.Column) error {
		return ss.scatterCollations(p, shardSQL, results, cols)
	})
	if err != nil {
		return err
	}
	ss.c.StatusFlags = ss.flags
	if inTx {
		ss.c.StatusFlags = ss.flags | vmysql.ServerStatusInTrans
		if ss.conn != nil {
			ss.c.StatusFlags = ss.conn.StatusFlags() | vmysql.ServerStatusInTrans
		}
	}
	ss.warnings = warnings
	ss.rowCount = -1
	ss.foundRowsCount = uint64(len(res.Rows))
	return callback(res)
}

// scatterDecoder is the decoder for the session's div_precision_increment
// (a SET of it is among the session's settings).
func (ss *session) scatterDecoder(m *parser.Merge) (*myvalue.Decoder, error) {
	n, found, ok := divPrecisionIncrement(ss.settings)
	switch {
	case !found:
		return scatterDecoder, nil
	case ok:
		return scatterDecoder.WithDivPrecisionIncrement(n), nil
	}
	for _, a := range m.Aggregates {
		if a.Func == parser.AggAvg {
			return nil, sqlerr.New(sqlerr.FeatureNotSupported, "avg over several shards after a SET of div_precision_increment the proxy cannot read")
		}
	}
	return scatterDecoder, nil
}

// divPrecisionIncrement finds the last SET of div_precision_increment
// among settings: found says one was set, ok that its value was read.
func divPrecisionIncrement(settings []string) (n int, found, ok bool) {
	for i := len(settings) - 1; i >= 0; i-- {
		s := strings.ToLower(settings[i])
		at := strings.LastIndex(s, "div_precision_increment")
		if at < 0 {
			continue
		}
		rest := strings.TrimSpace(s[at+len("div_precision_increment"):])
		rest = strings.TrimSpace(strings.TrimPrefix(strings.TrimPrefix(rest, ":="), "="))
		end := 0
		for end < len(rest) && rest[end] >= '0' && rest[end] <= '9' {
			end++
		}
		v, err := strconv.Atoi(rest[:end])
		if err != nil || strings.Contains(s[:at], ",") || strings.Contains(rest[end:], ",") || v > 30 {
			return 0, true, false
		}
		return v, true, true
	}
	return 0, false, false
}

// scatterCollations marks the text columns of cols (the columns of
// shardSQL's results) with their collations, asked of one shard (the
// shards share their schema).
//
// Under character_set_results = NULL MariaDB's column definitions carry
// each column's own collation id (else the result's character set), and
// sql_select_limit = 0 returns no rows (a LIMIT of the statement's own
// wins: its rows, few, are read and dropped). An id MariaDB also sends
// for its UCA 14.0.0 collations (224 for utf8mb4_unicode_ci and
// utf8mb4_uca1400_ai_ci alike) is asked once more, by name:
// COLLATION(column) of the statement's first row, on a shard that
// returned rows (none did: nothing is compared, any collation does).
func (ss *session) scatterCollations(p router.Scatter, shardSQL string, results []*sqltypes.Result, cols []executor.Column) error {
	res, err := ss.scatterProbe(p.Shards[0], "SET STATEMENT character_set_results = NULL, sql_select_limit = 0 FOR "+shardSQL)
	if err != nil {
		return err
	}
	if len(res.Fields) != len(cols) {
		return sqlerr.New(sqlerr.InternalError, "a shard described %d columns of a cross-shard read, then %d", len(cols), len(res.Fields))
	}
	var named []int // columns whose collation is asked by name
	for i, f := range res.Fields {
		if !myvalue.IsText(cols[i]) || f.Charset == 0 {
			continue
		}
		cols[i] = myvalue.WithCollation(cols[i], f.Charset)
		if myvalue.AmbiguousCollation(f.Charset) {
			named = append(named, i)
		}
	}
	if len(named) == 0 {
		return nil
	}
	shard := -1
	for i, r := range results {
		if len(r.Rows) > 0 {
			shard = i
			break
		}
	}
	if shard < 0 {
		for _, i := range named {
			id, _ := myvalue.Collation(cols[i])
			cols[i] = myvalue.WithNamedCollation(cols[i], id)
		}
		return nil
	}
	var q strings.Builder
	q.WriteString("WITH sg_probe (")
	for i := range cols {
		if i > 0 {
			q.WriteString(", ")
		}
		q.WriteString("c" + strconv.Itoa(i))
	}
	q.WriteString(") AS (" + shardSQL + ") SELECT ")
	for k, i := range named {
		if k > 0 {
			q.WriteString(", ")
		}
		q.WriteString("COLLATION(c" + strconv.Itoa(i) + ")")
	}
	q.WriteString(" FROM sg_probe LIMIT 1")
	res, err = ss.scatterProbe(p.Shards[shard], q.String())
	if err != nil {
		return err
	}
	if len(res.Rows) != 1 || len(res.Rows[0]) != len(named) {
		// The rows went meanwhile: the ids stay unnamed (refused).
		return nil
	}
	for k, i := range named {
		id, err := myvalue.CollationByName(res.Rows[0][k].ToString())
		if err != nil {
			return err
		}
		cols[i] = myvalue.WithNamedCollation(cols[i], id)
	}
	return nil
}

// scatterProbe runs one statement of the proxy's on a connection to shard.
func (ss *session) scatterProbe(shard *shardmap.Shard, sql string) (*sqltypes.Result, error) {
	c, own, err := ss.probeConn(shard)
	if err != nil {
		return nil, err
	}
	defer ss.giveBack(shard, c, own)
	res, _, err := c.Exec(sql, ss.s.o.MaxResultRows)
	return res, err
}

// columnProbe runs probe (a SELECT of one name, LIMIT 0: parser/mysql's
// question whether a GROUP BY name is a table column) on shard, and
// reports whether it ran: false for MariaDB's 1054 (unknown column) and
// 1052 (ambiguous).
func (ss *session) columnProbe(shard *shardmap.Shard, probe string) (bool, error) {
	c, own, err := ss.probeConn(shard)
	if err != nil {
		return false, err
	}
	defer ss.giveBack(shard, c, own)
	_, _, err = c.Exec(probe, 1)
	var se *sqlerr.Error
	switch {
	case err == nil:
		return true, nil
	case errors.As(err, &se) && (se.Number == erBadField || se.Number == erNonUniq):
		// No column of that name, or several (MariaDB's GROUP BY looks
		// the name up ignoring errors, and keeps the select item then).
		return false, nil
	}
	return false, err
}

// probeConn is the connection a probe of the proxy's runs on: the open
// transaction's part on shard if it has one (it sees the transaction's
// rows, and a second connection to the shard could wait on a full pool),
// else a borrowed one.
func (ss *session) probeConn(shard *shardmap.Shard) (ServerConn, bool, error) {
	if c, ok := ss.txOthers[shard]; ok {
		return c, false, nil
	}
	return ss.borrow(shard)
}

// MariaDB's ER_BAD_FIELD_ERROR ("Unknown column") and ER_NON_UNIQ_ERROR
// ("Column … is ambiguous").
const (
	erBadField = 1054
	erNonUniq  = 1052
)

// scatterRun runs shardSQL on every shard of p at once, each on a
// connection of its own, and returns their results in shard order.
func (ss *session) scatterRun(p router.Scatter, shardSQL string) ([]*sqltypes.Result, uint16, error) {
	type part struct {
		conn     ServerConn
		own      bool
		replica  *replicaPart // the part reads a replica (session_replica.go)
		res      *sqltypes.Result
		warnings uint16
		err      error
	}
	parts := make([]part, len(p.Shards))
	defer func() {
		for i, pt := range parts {
			switch {
			case pt.replica != nil:
				pt.replica.release(ss)
			case pt.conn != nil:
				ss.giveBack(p.Shards[i], pt.conn, pt.own)
			}
		}
	}()
	for i, sh := range p.Shards {
		rp, err := ss.scatterReplica(sh, p.Target)
		if err != nil {
			return nil, 0, err
		}
		if rp != nil {
			parts[i].conn, parts[i].replica = rp.conn, rp
			continue
		}
		c, own, err := ss.borrow(sh)
		if err != nil {
			return nil, 0, err
		}
		parts[i].conn, parts[i].own = c, own
	}
	running := make([]scatterPart, 0, len(parts))
	for i, pt := range parts {
		conn := pt.conn
		if pt.replica != nil {
			conn = replicaRunning{ServerConn: conn, node: pt.replica.lease.Node()} // KILL QUERY goes there (kill.go)
		}
		running = append(running, scatterPart{conn: conn, shard: p.Shards[i]})
	}
	ss.mu.Lock()
	ss.scatterParts = running
	ss.mu.Unlock()
	defer func() {
		// Before the connections go back: a KILL QUERY holds mu while
		// it sends its KILLs.
		ss.mu.Lock()
		ss.scatterParts = nil
		ss.mu.Unlock()
	}()
	var wg sync.WaitGroup
	for i := range parts {
		wg.Add(1)
		go func(pt *part) {
			defer wg.Done()
			pt.res, pt.warnings, pt.err = pt.conn.Exec(shardSQL, ss.s.o.MaxResultRows)
		}(&parts[i])
	}
	wg.Wait()
	for i := range parts {
		pt := &parts[i]
		if pt.replica == nil || pt.err == nil || !pt.conn.IsBroken() {
			continue
		}
		// The replica failed and nothing reached the client: this part
		// runs once more on the primary.
		ss.s.replicaRetries.Add(1)
		pt.replica.release(ss)
		pt.replica, pt.conn = nil, nil
		c, own, err := ss.borrow(p.Shards[i])
		if err != nil {
			return nil, 0, err
		}
		pt.conn, pt.own = c, own
		pt.res, pt.warnings, pt.err = c.Exec(shardSQL, ss.s.o.MaxResultRows)
	}
	results := make([]*sqltypes.Result, len(parts))
	var warnings uint32
	for i, pt := range parts {
		if pt.err != nil {
			return nil, 0, pt.err
		}
		results[i] = pt.res
		warnings += uint32(pt.warnings)
		ss.addPartWarnings(pt.conn, pt.warnings) // before it goes back (warnings.go)
	}
	if warnings > 0xffff {
		warnings = 0xffff
	}
	return results, uint16(warnings), nil
}

// scatterPart is one shard's server connection of a running scatter read.
type scatterPart struct {
	conn  ServerConn
	shard *shardmap.Shard
}

// cancelScatter sends KILL QUERY for every part of the running scatter
// read, each over another connection to its shard; ss.mu is held, so the
// parts' connections stay the session's meanwhile. The first error is
// returned after every part was tried.
func (ss *session) cancelScatter() error {
	ctx, cancel := context.WithTimeout(context.Background(), killTimeout)
	defer cancel()
	var first error
	for _, pt := range ss.scatterParts {
		if err := ss.killQuery(ctx, pt.conn, pt.shard); err != nil && first == nil {
			first = err
		}
	}
	return first
}

// scatterTxAllowed refuses, before anything runs, a read on several
// shards the open transaction cannot reach: one held on a replica (a
// READ ONLY transaction there has no part elsewhere), one pinned to its
// connection, one with savepoints (join says so).
func (ss *session) scatterTxAllowed(p router.Scatter) error {
	if ss.conn == nil {
		return nil
	}
	for _, sh := range p.Shards {
		if sh == ss.shard {
			continue
		}
		switch {
		case ss.txReplica != nil:
			return errReplicaTxOneShard(sh, ss.shard)
		case ss.pinned != parser.PinNone:
			return sqlerr.New(sqlerr.FeatureNotSupported,
				"this statement needs shard %s, but the session is pinned to shard %s by a %s", sh.Name, ss.shard.Name, pinName(ss.pinned))
		}
	}
	return nil
}

// scatterInTx runs shardSQL on every shard of p inside the client's open
// transaction, each on the transaction's part on that shard: a shard it
// holds reads on its connection (its plain transaction or XA branch), one
// it has not reached yet is joined as a write would join it (an XA
// branch, so that COMMIT ends it with the others; a plain transaction
// begun as the client began it when XA cannot carry the options, READ
// ONLY or WITH CONSISTENT SNAPSHOT). The parts then run at once.
//
// An error is the statement's, as on one server: the transaction stays
// open on every shard (a read changed nothing, so nothing is half done),
// unless a server rolled its part back (a deadlock: every part rolls back,
// partRolledBack) or a part's connection was lost (the transaction is
// lost: every part rolls back and the client's connection closes after
// the error, as settle does for one shard).
func (ss *session) scatterInTx(p router.Scatter, stmt *parser.Statement, shardSQL string) ([]*sqltypes.Result, uint16, error) {
	conns := make([]ServerConn, len(p.Shards))
	for i, sh := range p.Shards {
		if ss.conn != nil && sh != ss.shard {
			if err := ss.join(stmt, sh); err != nil {
				return nil, 0, err
			}
		}
		if err := ss.acquire(sh); err != nil {
			return nil, 0, err
		}
		conns[i] = ss.conn
	}
	running := make([]scatterPart, len(conns))
	for i, c := range conns {
		running[i] = scatterPart{conn: c, shard: p.Shards[i]}
	}
	ss.mu.Lock()
	ss.scatterParts = running // KILL QUERY reaches every part (kill.go)
	ss.mu.Unlock()
	type result struct {
		res      *sqltypes.Result
		warnings uint16
		err      error
	}
	out := make([]result, len(conns))
	var wg sync.WaitGroup
	for i, c := range conns {
		wg.Add(1)
		go func(r *result, c ServerConn) {
			defer wg.Done()
			r.res, r.warnings, r.err = c.Exec(shardSQL, ss.s.o.MaxResultRows)
		}(&out[i], c)
	}
	wg.Wait()
	ss.mu.Lock()
	ss.scatterParts = nil
	ss.mu.Unlock()
	var first error
	for i, r := range out {
		if r.err == nil {
			continue
		}
		if first == nil || isDeadlock(r.err) {
			// A deadlock's error wins: the whole transaction goes.
			first = r.err
		}
		if sh := p.Shards[i]; conns[i].IsBroken() {
			// The transaction is lost with this part: settle ends it
			// everywhere once the broken part is the current one.
			if sh != ss.shard {
				ss.txOthers[ss.shard] = ss.conn
				delete(ss.txOthers, sh)
				ss.conn, ss.shard = conns[i], sh
			}
			ss.settle()
			return nil, 0, r.err
		}
	}
	if first != nil {
		ss.settle()
		return nil, 0, ss.partRolledBack(first)
	}
	ss.settle()
	results := make([]*sqltypes.Result, len(out))
	var warnings uint32
	for i, r := range out {
		results[i] = r.res
		warnings += uint32(r.warnings)
		ss.addPartWarnings(conns[i], r.warnings) // the union of the shards' (warnings.go)
	}
	if warnings > 0xffff {
		warnings = 0xffff
	}
	return results, uint16(warnings), nil
}

// isDeadlock: err is MariaDB's 1213, after which the server rolled the
// part's whole transaction back.
func isDeadlock(err error) bool {
	var se *sqlerror.SQLError
	return errors.As(err, &se) && se.Num == sqlerror.ERLockDeadlock
}
