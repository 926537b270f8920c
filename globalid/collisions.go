package globalid

import (
	"context"
	"fmt"
	"strings"

	"github.com/shardgate/shardgate/shardmap"
)

// ShardDB is a connection to one shard's primary, for CheckSequences.
type ShardDB struct {
	Shard string
	DB    Queryer
}

// Finding is a column of a sharded table whose per-shard sequences would
// hand out the same values on several shards.
type Finding struct {
	Table, Column string
	// Kind is how the column gets its values: "identity", "serial" (a
	// sequence the column owns) or "nextval default".
	Kind string
	// Sequences are the sequences, one per shard in Shards' order.
	Shards    []string
	Sequences []string
	// Start and Increment are the first shard's sequence's; Same is set
	// when every shard's sequence starts and steps alike.
	Start, Increment int64
	Same             bool
	// Generated names the generator that fills the column through the
	// proxy ("" if none): then only rows written to a shard directly, or
	// by a client that bypasses the proxy, draw on the sequences.
	Generated string
}

func (f Finding) String() string {
	var b strings.Builder
	fmt.Fprintf(&b, "%s.%s: %s sequence on shards %s", f.Table, f.Column, f.Kind, strings.Join(f.Shards, ", "))
	if f.Same {
		fmt.Fprintf(&b, " starts at %d by %d on every shard", f.Start, f.Increment)
	} else {
		b.WriteString(" with overlapping values")
	}
	b.WriteString(": rows inserted on different shards can get the same value")
	if f.Generated != "" {
		fmt.Fprintf(&b, " (inserts through the proxy that omit it use generator %s; writes straight to a shard still draw on the sequences)", f.Generated)
	} else {
		fmt.Fprintf(&b, "; declare a generator for it (generated: {column: %s, generator: …}) or interleave the sequences (shard i: START i INCREMENT n, n ≥ the number of shards)", f.Column)
	}
	return b.String()
}

// sequenceColumns lists, for the given tables, each column filled by a
// sequence — identity, serial (owned) or a nextval default — with the
// sequence's start and increment. $1 are the tables' names, quoted.
const sequenceColumns = `SELECT t.i, a.attname::text,
	CASE WHEN a.attidentity <> '' THEN 'identity' WHEN ser.seq IS NOT NULL THEN 'serial' ELSE 'nextval default' END,
	sq.oid::regclass::text, s.seqstart, s.seqincrement
FROM unnest($1::text[]) WITH ORDINALITY AS t(name, i)
JOIN pg_class c ON c.oid = to_regclass(t.name)
JOIN pg_attribute a ON a.attrelid = c.oid AND a.attnum > 0 AND NOT a.attisdropped
LEFT JOIN pg_attrdef ad ON ad.adrelid = c.oid AND ad.adnum = a.attnum
LEFT JOIN LATERAL (SELECT pg_get_serial_sequence(c.oid::regclass::text, a.attname)::regclass::oid AS seq) ser ON true
LEFT JOIN LATERAL (SELECT d.refobjid AS seq FROM pg_depend d JOIN pg_class dc ON dc.oid = d.refobjid AND dc.relkind = 'S'
	WHERE d.classid = 'pg_attrdef'::regclass AND d.objid = ad.oid LIMIT 1) dep ON true
JOIN pg_class sq ON sq.oid = coalesce(ser.seq, dep.seq)
JOIN pg_sequence s ON s.seqrelid = sq.oid
ORDER BY 1, 2`

type shardSeq struct {
	shard, kind, seq string
	start, inc       int64
}

// CheckSequences looks on every shard for per-shard sequences on the
// keyspace's sharded tables' columns that would give the same values on
// several shards (every shard's own serial starting at 1 by 1 is the
// usual case), and returns one Finding per such column. Sequences
// interleaved across shards (the same increment n, at least the number of
// shards using it, and starts distinct modulo n) are not findings. A table
// missing on a shard is skipped there. It only reads catalogs.
func CheckSequences(ctx context.Context, ks *shardmap.Keyspace, shards []ShardDB) ([]Finding, error) {
	tables := ks.Tables()
	if len(tables) == 0 {
		return nil, nil
	}
	names := make([]string, len(tables))
	for i, t := range tables {
		names[i] = quoteQualified(t.Name())
	}
	type col struct {
		table  int
		column string
	}
	var order []col
	found := map[col][]shardSeq{}
	for _, sh := range shards {
		rows, err := sh.DB.Query(ctx, sequenceColumns, names)
		if err != nil {
			return nil, fmt.Errorf("globalid: sequences on shard %s: %w", sh.Shard, err)
		}
		for rows.Next() {
			var c col
			var ss shardSeq
			var i int64
			if err := rows.Scan(&i, &c.column, &ss.kind, &ss.seq, &ss.start, &ss.inc); err != nil {
				rows.Close()
				return nil, fmt.Errorf("globalid: sequences on shard %s: %w", sh.Shard, err)
			}
			c.table = int(i - 1)
			ss.shard = sh.Shard
			if _, seen := found[c]; !seen {
				order = append(order, c)
			}
			found[c] = append(found[c], ss)
		}
		rows.Close()
		if err := rows.Err(); err != nil {
			return nil, fmt.Errorf("globalid: sequences on shard %s: %w", sh.Shard, err)
		}
	}
	var out []Finding
	for _, c := range order {
		seqs := found[c]
		if len(seqs) < 2 || interleaved(seqs) {
			continue
		}
		t := tables[c.table]
		f := Finding{Table: t.Name(), Column: c.column, Kind: seqs[0].kind, Start: seqs[0].start, Increment: seqs[0].inc, Same: true}
		for _, s := range seqs {
			f.Shards = append(f.Shards, s.shard)
			f.Sequences = append(f.Sequences, s.seq)
			if s.start != f.Start || s.inc != f.Increment {
				f.Same = false
			}
		}
		if g := t.Generated(); g != nil && g.Column == c.column {
			f.Generated = g.Generator.Name
		}
		out = append(out, f)
	}
	return out, nil
}

// interleaved: the sequences step by the same n (|n| ≥ how many there are)
// from starts that differ modulo n, so no two can meet.
func interleaved(seqs []shardSeq) bool {
	n := seqs[0].inc
	if n < 0 {
		n = -n
	}
	if n < int64(len(seqs)) {
		return false
	}
	seen := map[int64]bool{}
	for _, s := range seqs {
		if s.inc != seqs[0].inc {
			return false
		}
		r := ((s.start % n) + n) % n
		if seen[r] {
			return false
		}
		seen[r] = true
	}
	return true
}

// quoteQualified quotes each dot-separated part of a shard-map table name
// for to_regclass.
func quoteQualified(name string) string {
	parts := strings.Split(name, ".")
	for i, p := range parts {
		parts[i] = `"` + strings.ReplaceAll(p, `"`, `""`) + `"`
	}
	return strings.Join(parts, ".")
}
