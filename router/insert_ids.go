package router

import (
	"errors"
	"fmt"

	"github.com/shardgate/shardgate/internal/sqlerr"
	"github.com/shardgate/shardgate/parser"
	"github.com/shardgate/shardgate/shardmap"
)

// IDRequest is what Route returns, as an error, for an INSERT that leaves
// its table's generated column to the proxy (shardmap: a table's
// `generated`): the column is missing from the column list, or some rows
// write DEFAULT in it. The session takes Count IDs from the generator
// (package globalid), writes them into the text with
// parser/pgsql.AddInsertColumn(sql, Column, ids), and analyzes and routes
// the new text, in which every row has its value: a generated sharding
// key routes like any literal key (a Single or a SplitInsert). Like
// NeedsBind, it is a request, not a failure: branch on NeedsIDs.
type IDRequest struct {
	Table     string
	Column    string
	Generator *shardmap.Generator
	// Rows are the rows that need a value, ascending; Count == len(Rows).
	// AddInsertColumn takes the IDs in this order.
	Rows  []int
	Count int
}

func (r *IDRequest) Error() string {
	return fmt.Sprintf("router: INSERT into %s needs %d values of generator %s for column %s (rows %v)", r.Table, r.Count, r.Generator.Name, r.Column, r.Rows)
}

// NeedsIDs returns the IDRequest in err, if err is one.
func NeedsIDs(err error) (*IDRequest, bool) {
	if err == nil {
		return nil, false // every statement asks: no allocation for r then
	}
	var r *IDRequest
	if errors.As(err, &r) {
		return r, true
	}
	return nil, false
}

// generatedIDs checks an INSERT into a table with a generated column: nil
// when every row gives the column a value, an *IDRequest when the proxy
// must fill some, or a refusal when it cannot. cols are the columns the
// rows give, by position (the statement's list, or the table's order);
// listed says the statement has a column list.
func generatedIDs(t *shardmap.Table, name string, ins *parser.InsertRows, cols []string, listed bool) error {
	g := t.Generated()
	pos := -1
	for i, c := range cols {
		if c == g.Column {
			pos = i
		}
	}
	var rows []int
	for r, row := range ins.Rows {
		if pos < 0 || pos >= len(row) || row[pos].Source == parser.FromDefault {
			rows = append(rows, r)
		}
	}
	if len(rows) == 0 {
		return nil
	}
	switch {
	case listed && len(cols) == 0:
		return sqlerr.New(sqlerr.FeatureNotSupported, "INSERT … DEFAULT VALUES into %s: the proxy fills its generated column %s only in INSERT … VALUES", name, g.Column).
			WithHint("Write INSERT INTO %s (…) VALUES (…) without %s.", name, g.Column)
	case !listed:
		return sqlerr.New(sqlerr.FeatureNotSupported, "INSERT into %s without a column list leaves its generated column %s to its default", name, g.Column).
			WithHint("Name the columns, leaving %s out (or writing DEFAULT for it); the proxy then fills it from generator %s.", g.Column, g.Generator.Name)
	}
	return &IDRequest{Table: name, Column: g.Column, Generator: g.Generator, Rows: rows, Count: len(rows)}
}
