package mysqlwire

import (
	"bytes"
	"encoding/hex"
	"slices"
	"strconv"
	"strings"
	"unicode/utf8"

	vmysql "vitess.io/vitess/go/mysql"
	"vitess.io/vitess/go/sqltypes"
	querypb "vitess.io/vitess/go/vt/proto/query"

	"github.com/shardgate/shardgate/internal/sqlerr"
	"github.com/shardgate/shardgate/parser"
)

// Prepared statements (COM_STMT_PREPARE / EXECUTE) are kept by the
// listener (vitess's PrepareData, per client); each execution runs on the
// backend as text with its values written in as literals, since vitess's
// client has no COM_STMT_PREPARE — and a text routes like any COM_QUERY.
// Numbers are written as they are (once checked to be numbers), binary
// values as hex literals, text so that no sql_mode changes how it is read
// (writeText).
//
// vitess decodes an unsigned integer parameter as signed (the unsigned
// flag of COM_STMT_EXECUTE is checked against the wrong bit), so
// 18446744073709551615 arrives as -1: clientconn_stmt.go puts it right, in clear
// text and over TLS (the proxy ends the client's TLS itself).

// prepare counts the statement's ? placeholders and, for a plain SELECT,
// learns its columns from a shard: the text with NULL for every
// placeholder and LIMIT 0, which the server answers with the columns and
// no work. Clients (libmariadb's, so sysbench's) decide from the prepare
// response whether an execution returns rows. Other statements answer
// with no columns; their executions carry their own.
func (ss *session) prepare(query string) ([]*querypb.Field, uint16, error) {
	at := placeholders(query)
	if len(at) > 0xffff {
		return nil, 0, sqlerr.New(sqlerr.FeatureNotSupported, "too many placeholders (%d)", len(at))
	}
	return ss.prepareFields(query, at), uint16(len(at)), nil
}

// prepareFields returns the columns of a plain SELECT (nil if unknown).
func (ss *session) prepareFields(query string, at []int) []*querypb.Field {
	text, ok := ss.columnsQuery(query, at)
	if !ok {
		return nil
	}
	shard, err := ss.homeShard()
	if err != nil {
		return nil
	}
	held := ss.conn != nil
	if !held {
		if err := ss.acquireOnly(shard); err != nil {
			return nil
		}
	}
	inTx := ss.conn.InTransaction()
	ss.setRunning(ss.conn, shard) // KILL QUERY reaches a probe that waits (a metadata lock)
	res, _, err := ss.conn.Exec(text, 1)
	ss.setRunning(nil, nil)
	if !inTx && ss.conn.InTransaction() && !ss.conn.IsBroken() {
		// With autocommit off the probe (even one that failed) opened a
		// transaction the client has not begun (a prepare begins none):
		// it would hold the connection, and the client's first
		// statement on another shard would make it span two. NO CHAIN
		// NO RELEASE: whatever the session's completion_type.
		if _, _, rerr := ss.conn.Exec("ROLLBACK AND NO CHAIN NO RELEASE", 0); rerr != nil && err == nil {
			err = rerr
		}
	}
	if !held {
		ss.settle()
	}
	if err != nil {
		return nil
	}
	return res.Fields
}

// columnsQuery is the text that asks a shard for a SELECT's columns
// without work: NULL for each placeholder and LIMIT 0 — or, when the
// SELECT has its own LIMIT (a placeholder or a number), 0 written there.
func (ss *session) columnsQuery(query string, at []int) (string, bool) {
	stmt, lits, err := ss.s.o.Analyzer.Analyze(query, nil)
	if err != nil || stmt.Kind != parser.KindSelect || stmt.SetOp || len(stmt.Parts) > 0 ||
		stmt.Pins() != parser.PinNone || containsFold(query, "into") {
		return "", false
	}
	// A locking read's LIMIT 0 goes before its FOR UPDATE / LOCK IN SHARE
	// MODE (it then locks nothing).
	lock := len(strings.TrimRight(query, " \t\r\n;"))
	if stmt.Locking {
		if lock = lockingClause(query); lock < 0 {
			return "", false
		}
	}
	type edit struct {
		at, end int
		with    string
	}
	edits := make([]edit, 0, len(at)+2)
	for _, pos := range at {
		edits = append(edits, edit{pos, pos + 1, "NULL"})
	}
	if stmt.Limit {
		if stmt.LimitCount.Source == 0 {
			return "", false
		}
		for _, v := range []parser.ValueRef{stmt.LimitCount, stmt.LimitOffset} {
			switch {
			case v.Source == 0: // no OFFSET
			case v.Source == parser.FromParam && v.Index >= 1 && v.Index <= len(at):
				edits[v.Index-1].with = "0"
			case v.Source == parser.FromLiteral && v.Index < len(lits) && lits[v.Index].Kind == parser.LiteralInteger:
				i := lits[v.Index].Offset
				end := i
				for end < len(query) && isWordByte(query[end]) {
					end++
				}
				if end == i {
					return "", false
				}
				edits = append(edits, edit{i, end, "0"})
			default:
				return "", false
			}
		}
		slices.SortFunc(edits, func(a, b edit) int { return a.at - b.at })
	}
	if !stmt.Limit {
		// On a line of its own: a text may end in a -- or # comment,
		// which would swallow it (and the probe read the whole table).
		edits = append(edits, edit{lock, lock, "\nLIMIT 0 "})
		slices.SortStableFunc(edits, func(a, b edit) int { return a.at - b.at })
	}
	var b strings.Builder
	last := 0
	for _, e := range edits {
		b.WriteString(query[last:e.at])
		b.WriteString(e.with)
		last = e.end
	}
	// Only the end is trimmed: what follows the last placeholder keeps
	// its leading blank (… AND ? ORDER BY c).
	b.WriteString(strings.TrimRight(query[last:], " \t\r\n;"))
	return b.String(), true
}

// lockingClause is the offset of a SELECT's FOR UPDATE, FOR SHARE or
// LOCK IN SHARE MODE (its last, outside quotes and comments; -1: none).
func lockingClause(sql string) int {
	at := -1
	scanCode(sql, func(i int) bool {
		if !identStart(sql, i) {
			return true
		}
		word := func(j int, w string) (int, bool) {
			j = skipBlanks(sql, j)
			if len(sql)-j < len(w) || !strings.EqualFold(sql[j:j+len(w)], w) || j+len(w) < len(sql) && isWordByte(sql[j+len(w)]) {
				return 0, false
			}
			return j + len(w), true
		}
		if j, ok := word(i, "for"); ok {
			if _, ok := word(j, "update"); ok {
				at = i
			} else if _, ok := word(j, "share"); ok {
				at = i
			}
		} else if j, ok := word(i, "lock"); ok {
			if j, ok := word(j, "in"); ok {
				if _, ok := word(j, "share"); ok {
					at = i
				}
			}
		}
		return true
	})
	return at
}

func isWordByte(c byte) bool {
	return '0' <= c && c <= '9' || 'a' <= c && c <= 'z' || 'A' <= c && c <= 'Z' || c == '_'
}

// execute runs one execution of a prepared statement.
func (ss *session) execute(prepare *vmysql.PrepareData, callback func(*sqltypes.Result) error) error {
	binds := prepare.BindVars
	if marks := ss.unsigned[prepare.StatementID]; marks != nil {
		binds = make(map[string]*querypb.BindVariable, len(prepare.BindVars))
		for k, v := range prepare.BindVars {
			binds[k] = v
		}
		for i, typ := range marks {
			k := "v" + itoa(i+1)
			if bv := binds[k]; typ != 0 && bv != nil {
				binds[k] = unsignedValue(bv, typ)
			}
		}
	}
	if ss.phStmt != prepare.PrepareStmt {
		// Executions repeat one statement: its placeholders are found once.
		ss.phStmt, ss.phAt = prepare.PrepareStmt, placeholders(prepare.PrepareStmt)
	}
	text, err := substituteAt(prepare.PrepareStmt, ss.phAt, binds)
	if err != nil {
		return err
	}
	ss.s.queries.Add(1)
	ss.binary, ss.rawOK = true, true
	ss.noteExecute(prepare, text)
	defer func() { ss.binary, ss.rawOK, ss.pexec.on = false, false, false }()
	if err := ss.query(text, callback); err != nil {
		ss.s.errors.Add(1)
		return err
	}
	return nil
}

// placeholders are the byte offsets of the ? placeholders of sql, outside
// quotes and comments.
func placeholders(sql string) []int {
	var at []int
	scanCode(sql, func(i int) bool {
		if sql[i] == '?' {
			at = append(at, i)
		}
		return true
	})
	return at
}

// substituteAt writes each bound value into sql in place of its
// placeholder (at: their offsets), as a literal.
func substituteAt(sql string, at []int, binds map[string]*querypb.BindVariable) (string, error) {
	var b strings.Builder
	b.Grow(len(sql) + 16*len(at))
	last := 0
	for i, pos := range at {
		bv := binds["v"+itoa(i+1)]
		if bv == nil {
			return "", sqlerr.New(sqlerr.ProtocolViolation, "no value for parameter %d", i+1)
		}
		b.WriteString(sql[last:pos])
		writeLiteral(&b, bv)
		last = pos + 1
	}
	b.WriteString(sql[last:])
	return b.String(), nil
}

func writeLiteral(b *strings.Builder, bv *querypb.BindVariable) {
	t := bv.Type
	switch {
	case t == sqltypes.Null:
		b.WriteString("NULL")
	case (sqltypes.IsIntegral(t) && t != sqltypes.Year || sqltypes.IsFloat(t) || t == sqltypes.Decimal) && isNumber(bv.Value):
		b.Write(bv.Value)
	case t == sqltypes.VarBinary || t == sqltypes.Blob || t == sqltypes.Binary || t == sqltypes.Bit:
		b.WriteString("X'")
		b.WriteString(hex.EncodeToString(bv.Value))
		b.WriteString("'")
	case t == sqltypes.Date || t == sqltypes.Datetime || t == sqltypes.Timestamp || t == sqltypes.Time:
		writeText(b, temporalText(t, bv.Value))
	default:
		writeText(b, bv.Value)
	}
}

// temporalText rewrites a binary-protocol DATE, DATETIME, TIMESTAMP or
// TIME parameter as MariaDB writes such a value: vitess decodes it into
// unpadded text with a fraction always (2024-1-5 3:4:5.000000), which
// MariaDB reads back as another value where it matters (99-1-1 is the
// year 1999, not 0099) and which differs from MariaDB's own text where
// the value becomes a string (CONCAT, a VARCHAR column). Zero-padded
// fields, the fraction only when not zero. Text of another shape is kept.
func temporalText(t querypb.Type, v []byte) []byte {
	s := string(v)
	neg := t == sqltypes.Time && strings.HasPrefix(s, "-")
	if neg {
		s = s[1:]
	}
	var date, clock string
	switch {
	case t == sqltypes.Time:
		clock = s
	default:
		date, clock, _ = strings.Cut(s, " ")
	}
	var out []byte
	if date != "" {
		ymd := strings.Split(date, "-")
		if len(ymd) != 3 {
			return v
		}
		for i, f := range ymd {
			n, err := strconv.Atoi(f)
			if err != nil || n < 0 {
				return v
			}
			if i > 0 {
				out = append(out, '-')
			}
			out = appendPadded(out, n, []int{4, 2, 2}[i])
		}
		if t == sqltypes.Date {
			return out
		}
		out = append(out, ' ')
	}
	if clock == "" {
		return v
	}
	if neg {
		out = append(out, '-')
	}
	hms, frac, _ := strings.Cut(clock, ".")
	parts := strings.Split(hms, ":")
	if len(parts) != 3 {
		return v
	}
	for i, f := range parts {
		n, err := strconv.Atoi(f)
		if err != nil || n < 0 {
			return v
		}
		if i > 0 {
			out = append(out, ':')
		}
		out = appendPadded(out, n, 2)
	}
	if strings.Trim(frac, "0") != "" {
		out = append(out, '.')
		out = append(out, frac...)
	}
	return out
}

// appendPadded appends n in decimal, zero-padded to width digits.
func appendPadded(b []byte, n, width int) []byte {
	d := strconv.Itoa(n)
	for i := len(d); i < width; i++ {
		b = append(b, '0')
	}
	return append(b, d...)
}

// writeText writes a text value so that every sql_mode reads it the same:
// in quotes with quotes doubled (read alike with or without
// NO_BACKSLASH_ESCAPES; ANSI_QUOTES concerns only "), or — when it holds
// a backslash or a NUL, which the modes read differently — as a hex literal
// with the connection's character set introduced (a string to the server,
// its collation yielding to the column's, as '…' does).
func writeText(b *strings.Builder, v []byte) {
	if bytes.IndexByte(v, '\\') < 0 && bytes.IndexByte(v, 0) < 0 {
		b.WriteByte('\'')
		for _, c := range v {
			if c == '\'' {
				b.WriteByte('\'')
			}
			b.WriteByte(c)
		}
		b.WriteByte('\'')
		return
	}
	if utf8.Valid(v) {
		b.WriteString("_utf8mb4 ")
	} else {
		b.WriteString("_binary ")
	}
	b.WriteString("X'")
	b.WriteString(hex.EncodeToString(v))
	b.WriteString("'")
}

// isNumber reports whether v is a plain decimal number, safe to write into
// SQL as it is: [+-]digits[.digits][e[+-]digits].
func isNumber(v []byte) bool {
	i := 0
	if i < len(v) && (v[i] == '+' || v[i] == '-') {
		i++
	}
	digits := 0
	for ; i < len(v) && v[i] >= '0' && v[i] <= '9'; i++ {
		digits++
	}
	if i < len(v) && v[i] == '.' {
		for i++; i < len(v) && v[i] >= '0' && v[i] <= '9'; i++ {
			digits++
		}
	}
	if digits == 0 {
		return false
	}
	if i < len(v) && (v[i] == 'e' || v[i] == 'E') {
		i++
		if i < len(v) && (v[i] == '+' || v[i] == '-') {
			i++
		}
		exp := 0
		for ; i < len(v) && v[i] >= '0' && v[i] <= '9'; i++ {
			exp++
		}
		if exp == 0 {
			return false
		}
	}
	return i == len(v)
}

func itoa(n int) string {
	var buf [20]byte
	i := len(buf)
	for {
		i--
		buf[i] = byte('0' + n%10)
		n /= 10
		if n == 0 {
			return string(buf[i:])
		}
	}
}
