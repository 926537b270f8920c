package pgsql

import (
	pg_query "github.com/pganalyze/pg_query_go/v6"

	"github.com/shardgate/shardgate/parser"
)

// prepareInfo describes PREPARE name [(types…)] AS statement.
func prepareInfo(p *pg_query.PrepareStmt) *parser.PrepareInfo {
	return &parser.PrepareInfo{Name: p.Name, ParamTypes: len(p.Argtypes)}
}

// executeInfo describes EXECUTE name [(args…)]: each argument is a value
// of this execution, as in a WHERE clause.
func (b *builder) executeInfo(e *pg_query.ExecuteStmt) *parser.PrepareInfo {
	info := &parser.PrepareInfo{Name: e.Name}
	if len(e.Params) > 0 {
		info.Args = make([]parser.ValueRef, len(e.Params))
		for i, n := range e.Params {
			info.Args[i] = b.value(n)
		}
	}
	return info
}

// deallocateInfo describes DEALLOCATE [PREPARE] name | ALL.
func deallocateInfo(d *pg_query.DeallocateStmt) *parser.PrepareInfo {
	return &parser.PrepareInfo{Name: d.Name, All: d.Isall}
}
