package pgwire

import (
	"strings"

	"github.com/shardgate/shardgate/parser"
)

// The fate of a session's SETs follows the transaction they ran in. A SET
// in an explicit transaction is tentative (txSets) until the statement
// that ends the transaction completes: COMMIT (or PREPARE TRANSACTION,
// which keeps the session's settings as a commit does) records it,
// ROLLBACK drops it, ROLLBACK TO SAVEPOINT drops those made after the
// savepoint. A SET outside one (through the extended protocol: batchSets)
// belongs to the batch's implicit transaction, settled at its Sync, or by
// a COMMIT/ROLLBACK later in the batch (a BEGIN after it takes it into the
// explicit transaction). The statement that ends a transaction is known
// when its own CommandComplete is read, never by the last tag before
// ReadyForQuery (a batch or a text may go on after it). What the proxy
// cannot follow marks the connection's settings unknown: it is reset
// before another session uses it.

// txControl is a transaction-control statement whose completion settles
// SETs; the zero value is any other statement.
type txControl uint8

const (
	ctlNone       txControl = iota
	ctlCommit               // COMMIT, END (the tag says ROLLBACK if it rolled back)
	ctlRollback             // ROLLBACK, ABORT
	ctlPrepare              // PREPARE TRANSACTION: the settings stay, as on commit
	ctlSavepoint            // SAVEPOINT name
	ctlRelease              // RELEASE [SAVEPOINT] name
	ctlRollbackTo           // ROLLBACK [WORK|TRANSACTION] TO [SAVEPOINT] name
	// ctlText: a multi-statement text with transaction control; its
	// statements are told apart by their tags. ctlTextSavepoints: one with
	// savepoint statements too, whose ROLLBACK tag may be a ROLLBACK TO.
	ctlText
	ctlTextSavepoints
)

var txControlNames = [...]string{"none", "commit", "rollback", "prepare transaction", "savepoint", "release", "rollback to", "text", "text with savepoints"}

func (c txControl) String() string {
	if int(c) < len(txControlNames) {
		return txControlNames[c]
	}
	return "unknown"
}

// txControlOf classifies stmt (sql is its text) and returns the savepoint
// name for the savepoint kinds. Statements of other kinds cost a switch.
func txControlOf(stmt *parser.Statement, sql string) (c txControl, name string) {
	switch stmt.Kind {
	case parser.KindSelect, parser.KindInsert, parser.KindUpdate, parser.KindDelete:
		if len(stmt.Parts) == 0 {
			return ctlNone, ""
		}
	}
	if len(stmt.Parts) > 0 {
		for _, p := range stmt.Parts {
			switch {
			case p.Kind == parser.KindSavepoint:
				return ctlTextSavepoints, ""
			case p.Kind == parser.KindCommit, p.Kind == parser.KindRollback, p.Tx.Prepared:
				c = ctlText
			}
		}
		return c, ""
	}
	switch stmt.Kind {
	case parser.KindCommit:
		return ctlCommit, ""
	case parser.KindRollback:
		return ctlRollback, ""
	case parser.KindSavepoint:
		words := strings.Fields(stripLeadingComments(sql))
		if len(words) == 0 {
			return ctlNone, ""
		}
		switch strings.ToUpper(words[0]) {
		case "SAVEPOINT":
			c = ctlSavepoint
		case "RELEASE":
			c = ctlRelease
		default:
			c = ctlRollbackTo
		}
		return c, savepointName(words)
	case parser.KindOther:
		if stmt.Tx.Prepared && strings.EqualFold(firstWord(sql), "PREPARE") {
			return ctlPrepare, ""
		}
	}
	return ctlNone, ""
}

func firstWord(sql string) string {
	s := stripLeadingComments(sql)
	if i := strings.IndexAny(s, " \t\r\n;"); i >= 0 {
		return s[:i]
	}
	return s
}

// savepointName is the savepoint a SAVEPOINT, RELEASE or ROLLBACK TO
// names (its last word), folded as Postgres folds it; "" when it cannot
// tell.
func savepointName(words []string) string {
	if len(words) < 2 {
		return ""
	}
	w := strings.TrimRight(words[len(words)-1], ";")
	if strings.HasPrefix(w, `"`) {
		if len(w) < 2 || !strings.HasSuffix(w, `"`) || strings.Contains(w[1:len(w)-1], `"`) {
			return "" // a quoted name with spaces or quotes: not followed
		}
		return w[1 : len(w)-1]
	}
	return strings.ToLower(w)
}

// savepointMark is a savepoint of the open transaction and how many of
// its tentative SETs came before it.
type savepointMark struct {
	name string
	sets int
	// early is txEarlyPath when the savepoint was made: a ROLLBACK TO it
	// undoes a SET LOCAL search_path given after it, before the
	// transaction reached a server.
	early string
}

// txControlDone runs when a transaction-control statement completed on l
// (its CommandComplete, whose tag is s.lastTag); chain: it was AND CHAIN.
func (s *session) txControlDone(c txControl, name string, chain bool, l *link) {
	tag := s.lastTag
	switch c {
	case ctlText, ctlTextSavepoints:
		switch {
		case tag == "COMMIT":
			c = ctlCommit
		case tag == "PREPARE TRANSACTION":
			c = ctlPrepare
		case tag == "ROLLBACK" && c == ctlText:
			c = ctlRollback
		case tag == "ROLLBACK", tag == "SAVEPOINT", tag == "RELEASE":
			// A ROLLBACK TO or a savepoint the proxy does not follow
			// in a text: whatever the transaction's end, unsure.
			s.txSetsUnsure = true
			return
		default:
			return
		}
	}
	switch c {
	case ctlCommit:
		s.endTxAt(l, tag == "COMMIT", chain)
	case ctlRollback:
		s.endTxAt(l, false, chain)
	case ctlPrepare:
		s.endTxAt(l, tag == "PREPARE TRANSACTION", false)
	case ctlSavepoint:
		if name == "" {
			s.txSetsUnsure = true
		}
		s.txMarks = append(s.txMarks, savepointMark{name: name, sets: len(s.txSets), early: s.txEarlyPath})
	case ctlRelease, ctlRollbackTo:
		i := s.findMark(name)
		switch {
		case i < 0:
			s.txSetsUnsure = true
		case c == ctlRelease:
			// Its SETs stay, in the enclosing (sub)transaction.
			s.txMarks = s.txMarks[:i]
		default:
			// Undone by the server; the savepoint stays.
			if s.txRestoreOn != nil && s.txRestoreAt >= s.txMarks[i].sets {
				s.forgetRestore()
			}
			clear(s.txSets[s.txMarks[i].sets:])
			s.txSets = s.txSets[:s.txMarks[i].sets]
			s.txEarlyPath = s.txMarks[i].early
			s.txSetsChanged()
			s.txMarks = s.txMarks[:i+1]
		}
	}
}

// findMark is the index of the latest savepoint called name, or -1.
func (s *session) findMark(name string) int {
	if name == "" {
		return -1
	}
	for i := len(s.txMarks) - 1; i >= 0; i-- {
		if s.txMarks[i].name == name {
			return i
		}
	}
	return -1
}

// endTxAt settles what a COMMIT, ROLLBACK or PREPARE TRANSACTION that
// completed on l ended: the batch's SETs still pending (a BEGIN took them
// into the explicit transaction, or they ran in the implicit one this
// statement ended), and the explicit transaction's SETs unless it ended
// already in this batch (then the statement ended an implicit one).
func (s *session) endTxAt(l *link, committed, chain bool) {
	if len(s.batchSets) > 0 {
		for _, b := range s.batchSets {
			if committed {
				s.applySetting(b.cs.sql, b.cs.stmt, b.l)
			}
		}
		clear(s.batchSets)
		s.batchSets = s.batchSets[:0]
		s.txSetsChanged()
	}
	if !s.txOpen || s.txEnded {
		return
	}
	s.endTxSettings(l, committed)
	if !chain {
		// Until its ReadyForQuery: a SET after it in the batch runs in the
		// batch's implicit transaction.
		s.txEnded = true
	}
}

// markUnknown: the proxy cannot tell l's session settings; it is reset
// before another session uses it.
func markUnknown(l *link) {
	l.state.applied, l.state.untracked = appliedUnknown, true
}
