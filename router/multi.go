package router

import (
	"slices"

	"github.com/shardgate/shardgate/internal/sqlerr"
	"github.com/shardgate/shardgate/parser"
	"github.com/shardgate/shardgate/shardmap"
)

// Multi-statement texts (a simple Query with several statements) run on
// one server connection as a whole: every statement must land on one
// shard, and the search_path a SET in the text leaves decides how the
// statements after it resolve their table names, on the server and here.

// routeMulti routes a multi-statement text: every part must land on one shard.
func routeMulti(ks *shardmap.Keyspace, stmt *parser.Statement, vals *Values, sess *Session, snap *shardmap.Snapshot, one *Single) (Plan, error) {
	var first *Single
	local := *sess
	// The parts after a SET search_path resolve their table names by its
	// path, on the server and here: a SET LOCAL until the transaction's
	// end, a SET until a ROLLBACK of the transaction it ran in.
	path := textPath{effective: sess.SearchPath, session: sess.SearchPath, begin: sess.SearchPath}
	for i, part := range stmt.Parts {
		switch part.Kind {
		case parser.KindSet:
			if set := part.Set; set != nil && (set.Name == "search_path" || set.ResetAll) {
				path.set(set, vals, sess.User)
			}
			continue
		case parser.KindBegin:
			path.begin = path.session
			continue
		case parser.KindCommit:
			path.effective = path.session
			continue
		case parser.KindRollback:
			path.session, path.effective = path.begin, path.begin
			continue
		case parser.KindSavepoint:
			// SAVEPOINT, RELEASE or ROLLBACK TO (the analysis does not
			// tell them apart): which SETs a ROLLBACK TO undoes is not
			// followed.
			path.unknown = path.unknown || !slices.Equal(path.effective, path.begin)
			continue
		case parser.KindShow, parser.KindEmpty:
			continue
		}
		local.SearchPath = path.effective
		if path.unknown && namesUnqualified(part) {
			return nil, errPathSetInText
		}
		p, err := Route(part, vals, &local, snap)
		if err != nil {
			return nil, err
		}
		switch s := p.(type) {
		case Single:
			if first != nil && first.Shard != s.Shard {
				return nil, multiShard(stmt, []*shardmap.Shard{first.Shard, s.Shard})
			}
			first = &s
			local.TxShard = s.Shard
		case AnyShard:
		default:
			if part.Pin == parser.PinTempObject {
				// CREATE TEMP TABLE among other statements: it runs
				// where the text runs (the session pins that connection
				// and learns the name there).
				continue
			}
			// The text goes to one shard as a whole; a part that needs
			// several would see that shard's rows only.
			return nil, sqlerr.New(sqlerr.FeatureNotSupported, "statement %d of this multi-statement text needs several shards (%s), which is not supported inside such a text", i+1, p).
				WithHint("Send it as a statement of its own: shardgate runs it on every shard it needs only then.")
		}
	}
	if first != nil {
		return single(*first, one), nil
	}
	return inTx(AnyShard{Keyspace: ks, Why: Reason{Text: "multi-statement without sharded tables"}}, sess, one)
}

// textPath follows search_path through a multi-statement text: the path in
// effect, the session's (without SET LOCAL), the one at the text's BEGIN;
// unknown after a value the router cannot read or a ROLLBACK TO.
type textPath struct {
	effective, session, begin []string
	unknown                   bool
}

func (p *textPath) set(set *parser.SetInfo, vals *Values, user string) {
	path, ok := setPath(set, vals, user)
	if !ok {
		p.unknown = true
		return
	}
	p.effective = path
	if !set.Local {
		p.session = path
	}
}

// errPathSetInText refuses a multi-statement text whose search_path
// changes in a way the router cannot follow (a value it cannot read, a
// ROLLBACK TO after it) before a statement naming a table without its
// schema.
var errPathSetInText = sqlerr.New(sqlerr.FeatureNotSupported, "a statement naming a table without its schema after a change of search_path that shardgate cannot follow (a value it cannot read, or one a ROLLBACK TO may undo) in the same multi-statement text is not supported").
	WithHint("Send the SET search_path as a statement of its own, or qualify the table names.")

// setPath is the search_path a SET or RESET leaves, as the server reads
// it: each value one schema name as given (search_path quotes each, so a
// string 'a, b' names one schema "a, b"), "$user" the session's user;
// RESET and DEFAULT the server's default (nil). ok is false for a value
// that is not a literal or a word.
func setPath(set *parser.SetInfo, vals *Values, user string) (path []string, ok bool) {
	if set.Reset || set.ResetAll {
		return nil, true
	}
	if len(set.Values) == 0 {
		return nil, false
	}
	path = make([]string, 0, len(set.Values))
	for _, v := range set.Values {
		var name string
		switch {
		case v.Ref.Source == 0:
			name = v.Word
		case v.Ref.Source == parser.FromLiteral && vals != nil && v.Ref.Index < len(vals.Literals):
			name = vals.Literals[v.Ref.Index].Text
		default:
			return nil, false
		}
		if name == "$user" {
			name = user
		}
		path = append(path, name)
	}
	return path, true
}

// namesUnqualified reports whether the statement names a table without
// its schema.
func namesUnqualified(stmt *parser.Statement) bool {
	for _, t := range stmt.Tables {
		if t.Schema == "" {
			return true
		}
	}
	return false
}
