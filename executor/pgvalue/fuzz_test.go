package pgvalue

import (
	"testing"

	"github.com/jackc/pgx/v5/pgtype"

	"github.com/shardgate/shardgate/executor"
)

var fuzzOIDs = []uint32{
	pgtype.Int2OID, pgtype.Int4OID, pgtype.Int8OID, pgtype.NumericOID, pgtype.Float4OID, pgtype.Float8OID,
	pgtype.TextOID, pgtype.BPCharOID, pgtype.BoolOID, pgtype.DateOID, pgtype.TimestampOID, pgtype.TimestamptzOID,
	pgtype.UUIDOID, pgtype.ByteaOID,
}

// FuzzDecode: no input makes a codec panic, and what decodes writes back
// to bytes that decode to an equal value.
func FuzzDecode(f *testing.F) {
	for _, s := range []string{"1", "-1.50", "NaN", "t", "2024-01-01", "2024-01-01 00:00:00+01", "infinity",
		`\x00ff`, "a0eebc99-9c0b-4ef8-bb6d-6bb9bd380a11", "\x00\x01\x00\x00\x00\x00\x00\x02\x00\x07", "\x00\x00\x00\x00\x00\x00\x00\x01"} {
		for i := range fuzzOIDs {
			f.Add(uint8(i), false, []byte(s))
			f.Add(uint8(i), true, []byte(s))
		}
	}
	d := New()
	f.Fuzz(func(t *testing.T, which uint8, bin bool, raw []byte) {
		oid := fuzzOIDs[int(which)%len(fuzzOIDs)]
		format := executor.TextFormat
		if bin {
			format = executor.BinaryFormat
		}
		c, err := d.Codec(executor.Column{Type: oid, Format: format})
		if err != nil {
			t.Fatal(err)
		}
		v, err := c.Decode(raw)
		if err != nil {
			return
		}
		out, err := c.Append(nil, v)
		if err != nil {
			if oid == pgtype.TimestamptzOID && !bin {
				return
			}
			t.Fatalf("oid %d %q: decoded %v, Append: %v", oid, raw, v, err)
		}
		w, err := c.Decode(out)
		if err != nil || executor.Compare(v, w) != 0 {
			t.Fatalf("oid %d %q: %v → %q → %v, %v", oid, raw, v, out, w, err)
		}
	})
}
