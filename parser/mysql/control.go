package mysql

import (
	"strings"

	"vitess.io/vitess/go/vt/sqlparser"

	"github.com/shardgate/shardgate/parser"
)

// tree is one statement of a text: vitess' parse tree, or a
// transaction-control statement vitess' grammar does not know.
type tree struct {
	stmt sqlparser.Statement
	ctl  *control
	// do: stmt is the SELECT of a DO statement's expressions.
	do bool
	// paramBase is the number of ? in the statements before this one:
	// vitess numbers each statement's from 1, the text numbers them on.
	paramBase int
}

// control is a statement recognised by its tokens: COMMIT / ROLLBACK
// [WORK] [AND [NO] CHAIN] [[NO] RELEASE] and BEGIN WORK (vitess only knows
// the bare forms), SET ROLE, and XA … (the client's own two-phase commit).
type control struct {
	kind  parser.Kind
	chain bool
	xa    bool
	role  string // SET ROLE
}

// control recognises a statement vitess rejected.
func (a *Analyzer) control(piece string) (*control, bool) {
	tkn := a.p.NewStringTokenizer(piece)
	var toks []int
	var vals []string
	for {
		typ, val := tkn.Scan()
		if typ == 0 || typ == sqlparser.LEX_ERROR {
			if typ == sqlparser.LEX_ERROR {
				return nil, false
			}
			break
		}
		if typ == sqlparser.COMMENT {
			continue
		}
		toks = append(toks, typ)
		vals = append(vals, strings.ToLower(val))
	}
	if len(toks) == 0 {
		return nil, false
	}
	if toks[0] == sqlparser.ID && vals[0] == "xa" {
		return &control{kind: parser.KindOther, xa: true}, true
	}
	if toks[0] == sqlparser.BEGIN && len(toks) == 2 && toks[1] == sqlparser.WORK {
		return &control{kind: parser.KindBegin}, true
	}
	if toks[0] == sqlparser.SET && len(toks) >= 3 && toks[1] == sqlparser.ID && vals[1] == "role" {
		// SET ROLE name | NONE: MariaDB's roles, session state.
		return &control{kind: parser.KindSet, role: vals[2]}, true
	}
	c := &control{}
	switch toks[0] {
	case sqlparser.COMMIT:
		c.kind = parser.KindCommit
	case sqlparser.ROLLBACK:
		c.kind = parser.KindRollback
	default:
		return nil, false
	}
	i := 1
	if i < len(toks) && toks[i] == sqlparser.WORK {
		i++
	}
	if i < len(toks) && toks[i] == sqlparser.AND {
		i++
		no := i < len(toks) && toks[i] == sqlparser.NO
		if no {
			i++
		}
		if i >= len(toks) || toks[i] != sqlparser.ID || vals[i] != "chain" {
			return nil, false
		}
		i++
		c.chain = !no
	}
	if i < len(toks) && toks[i] == sqlparser.NO {
		i++
		if i >= len(toks) || toks[i] != sqlparser.RELEASE {
			return nil, false
		}
		i++
	} else if i < len(toks) && toks[i] == sqlparser.RELEASE {
		// COMMIT RELEASE ends the connection after the commit: the front
		// end sees the server close it. Routed like COMMIT.
		i++
	}
	if i != len(toks) {
		return nil, false
	}
	return c, true
}

// statement is the analysis of a control statement.
func (c *control) statement() *parser.Statement {
	st := &parser.Statement{Kind: c.kind}
	st.Tx.Chain = c.chain
	if c.xa {
		st.Tx.Prepared = true
		st.Volatile = true
	}
	if c.role != "" {
		st.Set = &parser.SetInfo{Name: "role", Vars: []parser.SetVar{{Name: "role", Scope: parser.ScopeSession,
			Value: parser.ValueRef{Source: parser.FromExpr}, Word: c.role}}}
		if c.role != "none" {
			st.Pin = parser.PinRole
		}
	}
	return st
}

// mariadbComments makes MariaDB's executable comments readable by vitess:
// MariaDB runs the body of /*M! … */ and of /*M!NNNNNN … */ when its
// version is at least NNNNNN (six digits), as MySQL does /*! … */. vitess
// knows only the latter and would read the body as a comment: for the
// analysis, a /*M! that MariaDB 10.11 runs becomes " /*!" with its version
// blanked, one it does not run stays a comment. Only comments are changed
// (not a "/*M!" inside a string), and offsets do not move.
//
// It applies mariadbSyntax first (6-digit /*!NNNNNN comments, ODBC escapes).
func mariadbComments(p *sqlparser.Parser, sql string) string {
	sql = mariadbSyntax(sql)
	if !strings.Contains(sql, "/*M!") {
		return sql
	}
	var b []byte
	tkn := p.NewStringTokenizer(sql)
	for {
		typ, val := tkn.Scan()
		if typ == 0 || typ == sqlparser.LEX_ERROR {
			break
		}
		if typ != sqlparser.COMMENT || !strings.HasPrefix(val, "/*M!") {
			continue
		}
		i := tkn.Pos - len(val)
		if i < 0 || !strings.HasPrefix(sql[i:], "/*M!") {
			continue
		}
		d := 0
		for d < 6 && i+4+d < len(sql) && sql[i+4+d] >= '0' && sql[i+4+d] <= '9' {
			d++
		}
		if d == 6 && sql[i+4:i+10] > mariadbVersion {
			continue // not run by the server: a comment
		}
		if b == nil {
			b = []byte(sql)
		}
		copy(b[i:], " /*!")
		if d == 5 || d == 6 {
			for k := 0; k < d; k++ {
				b[i+4+k] = ' '
			}
		}
	}
	if b == nil {
		return sql
	}
	return string(b)
}

// mariadbVersion is the MariaDB version the shards run, as /*M! compares
// it (major, minor, patch as two digits each).
const mariadbVersion = "101199"
