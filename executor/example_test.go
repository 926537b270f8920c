package executor_test

import (
	"fmt"

	"github.com/jackc/pgx/v5/pgtype"

	"github.com/shardgate/shardgate/executor"
	"github.com/shardgate/shardgate/executor/pgvalue"
	"github.com/shardgate/shardgate/parser"
)

// A session runs SELECT id, name FROM users ORDER BY id DESC LIMIT 3 on two
// shards (each sent ... ORDER BY id DESC LIMIT 3) and merges what they
// return. Its streams read DataRows from the server connections.
func ExampleMerger() {
	shard0 := &stream{rows: rows(row(9, "ada"), row(4, "bob"), row(2, "cy"))}
	shard1 := &stream{rows: rows(row(8, "dee"), row(7, "eve"), row(1, "fay"))}
	spec := &parser.Merge{Order: []parser.SortKey{{Column: 0, Desc: true, NullsFirst: true}}, Limit: 3, Offset: -1}
	cols := []executor.Column{ // from shard 0's RowDescription
		{Type: pgtype.Int4OID, Size: 4, Modifier: -1, Format: executor.TextFormat},
		{Type: pgtype.TextOID, Size: -1, Modifier: -1, Format: executor.TextFormat},
	}
	m, err := executor.NewMerger(spec, cols, pgvalue.New(), []executor.Stream{shard0, shard1}, executor.Options{})
	if err != nil {
		fmt.Println(err) // 0A000 or XX000: send an ErrorResponse, drain the shards
		return
	}
	// RowDescription from m.Columns(), then a DataRow per row:
	for {
		r, ok, err := m.Next()
		if err != nil {
			fmt.Println(err)
			return
		}
		if !ok {
			break
		}
		fmt.Printf("%s %s\n", r[0].Data, r[1].Data)
	}
	// CommandComplete "SELECT 3"; cancel or drain what is left.
	fmt.Println("unfinished:", m.Unfinished())
	// Output:
	// 9 ada
	// 8 dee
	// 7 eve
	// unfinished: [0 1]
}
