package pgvalue

import (
	"math"
	"testing"
	"time"

	"github.com/jackc/pgx/v5/pgtype"

	"github.com/shardgate/shardgate/executor"
	"github.com/shardgate/shardgate/internal/sqlerr"
	"github.com/shardgate/shardgate/parser"
)

// Known outputs of float8out / float4out (extra_float_digits 1, the
// default, and 0).
func TestAppendFloat(t *testing.T) {
	for _, tc := range []struct {
		f     float64
		bits  int
		extra int
		want  string
	}{
		{1.5, 64, 1, "1.5"},
		{add(0.1, 0.2), 64, 1, "0.30000000000000004"},
		{1e15, 64, 1, "1e+15"},
		{123456789012345, 64, 1, "123456789012345"},
		{1234567890123456, 64, 1, "1.234567890123456e+15"},
		{0.0001, 64, 1, "0.0001"},
		{0.00001, 64, 1, "1e-05"},
		{0.000123, 64, 1, "0.000123"},
		{1e100, 64, 1, "1e+100"},
		{-2.5e-300, 64, 1, "-2.5e-300"},
		{100, 64, 1, "100"},
		{math.Copysign(0, -1), 64, 1, "-0"},
		{0, 64, 1, "0"},
		{math.NaN(), 64, 1, "NaN"},
		{math.Inf(1), 64, 1, "Infinity"},
		{math.Inf(-1), 64, 1, "-Infinity"},
		{float64(float32(0.1)), 32, 1, "0.1"},
		{float64(float32(100000)), 32, 1, "100000"},
		{float64(float32(1234567)), 32, 1, "1.234567e+06"},
		{float64(float32(1.25)), 32, 1, "1.25"},
		{add(0.1, 0.2), 64, 0, "0.3"},
		{1.0 / 3, 64, 0, "0.333333333333333"},
		{1e15, 64, 0, "1e+15"},
		{123456, 64, 0, "123456"},
		{1.0 / 3, 64, 3, "0.3333333333333333"},
		{float64(float32(1.0 / 3)), 32, 0, "0.333333"},
		{1.0 / 3, 64, -15, "0.3"},
	} {
		if got := string(appendFloat(nil, tc.f, tc.bits, tc.extra)); got != tc.want {
			t.Errorf("appendFloat(%v, %d, %d) = %q, want %q", tc.f, tc.bits, tc.extra, got, tc.want)
		}
	}
}

// add adds at run time (constant arithmetic is exact).
func add(a, b float64) float64 { return a + b }

func col(oid uint32, format int16) executor.Column {
	return executor.Column{Type: oid, Size: -1, Modifier: -1, Format: format}
}

// One value per type, in both formats: text and binary decode to equal
// Values, and Append writes the bytes back.
func TestCodecs(t *testing.T) {
	d := New()
	m := pgtype.NewMap()
	ts := time.Date(2024, 2, 29, 13, 14, 15, 123456000, time.UTC)
	for _, tc := range []struct {
		oid   uint32
		text  string
		value any // for pgtype's binary encoding
		kind  executor.Kind
		// textOut is what Append writes as text when it differs from text
		// ("" = same; "-" = Append refuses).
		textOut string
	}{
		{pgtype.Int2OID, "-32768", int16(-32768), executor.KindInt, ""},
		{pgtype.Int4OID, "2147483647", int32(2147483647), executor.KindInt, ""},
		{pgtype.Int8OID, "-9223372036854775808", int64(math.MinInt64), executor.KindInt, ""},
		{pgtype.NumericOID, "-12345.6700", mustNumeric(t, "-12345.6700"), executor.KindDecimal, ""},
		{pgtype.Float4OID, "1.25", float32(1.25), executor.KindFloat, ""},
		{pgtype.Float8OID, "-Infinity", math.Inf(-1), executor.KindFloat, ""},
		{pgtype.Float8OID, "0.30000000000000004", add(0.1, 0.2), executor.KindFloat, ""},
		{pgtype.TextOID, "héllo", "héllo", executor.KindBytes, ""},
		{pgtype.VarcharOID, "", "", executor.KindBytes, ""},
		{pgtype.NameOID, "pg_class", "pg_class", executor.KindBytes, ""},
		{pgtype.BoolOID, "t", true, executor.KindBool, ""},
		{pgtype.DateOID, "2024-02-29", pgtype.Date{Time: ts.Truncate(24 * time.Hour), Valid: true}, executor.KindTime, ""},
		{pgtype.DateOID, "0044-03-15 BC", pgtype.Date{Time: time.Date(-43, 3, 15, 0, 0, 0, 0, time.UTC), Valid: true}, executor.KindTime, ""},
		{pgtype.DateOID, "infinity", pgtype.Date{InfinityModifier: pgtype.Infinity, Valid: true}, executor.KindTime, ""},
		{pgtype.TimestampOID, "2024-02-29 13:14:15.123456", pgtype.Timestamp{Time: ts, Valid: true}, executor.KindTime, ""},
		{pgtype.TimestampOID, "1999-12-31 23:59:59.5", pgtype.Timestamp{Time: time.Date(1999, 12, 31, 23, 59, 59, 5e8, time.UTC), Valid: true}, executor.KindTime, ""},
		{pgtype.TimestampOID, "-infinity", pgtype.Timestamp{InfinityModifier: pgtype.NegativeInfinity, Valid: true}, executor.KindTime, ""},
		{pgtype.TimestamptzOID, "2024-02-29 14:14:15.123456+01", pgtype.Timestamptz{Time: ts, Valid: true}, executor.KindTime, "-"},
		{pgtype.UUIDOID, "a0eebc99-9c0b-4ef8-bb6d-6bb9bd380a11", mustUUID(t, "a0eebc99-9c0b-4ef8-bb6d-6bb9bd380a11"), executor.KindBytes, ""},
		{pgtype.ByteaOID, `\x00ff10`, []byte{0, 0xff, 0x10}, executor.KindBytes, ""},
	} {
		tcodec, err := d.Codec(col(tc.oid, executor.TextFormat))
		if err != nil {
			t.Fatalf("oid %d: %v", tc.oid, err)
		}
		bcodec, err := d.Codec(col(tc.oid, executor.BinaryFormat))
		if err != nil {
			t.Fatal(err)
		}
		if tcodec.Kind() != tc.kind || bcodec.Kind() != tc.kind {
			t.Errorf("oid %d: kinds %s %s, want %s", tc.oid, tcodec.Kind(), bcodec.Kind(), tc.kind)
		}
		raw, err := m.Encode(tc.oid, pgtype.BinaryFormatCode, tc.value, nil)
		if err != nil {
			t.Fatalf("oid %d: pgtype encode: %v", tc.oid, err)
		}
		tv, err := tcodec.Decode([]byte(tc.text))
		if err != nil {
			t.Errorf("oid %d: decode text %q: %v", tc.oid, tc.text, err)
			continue
		}
		bv, err := bcodec.Decode(raw)
		if err != nil {
			t.Errorf("oid %d: decode binary %x: %v", tc.oid, raw, err)
			continue
		}
		if tv.Kind() != tc.kind || executor.Compare(tv, bv) != 0 {
			t.Errorf("oid %d %q: text %v, binary %v", tc.oid, tc.text, tv, bv)
		}
		out, err := tcodec.Append(nil, tv)
		switch {
		case tc.textOut == "-":
			if err == nil {
				t.Errorf("oid %d: text Append did not refuse", tc.oid)
			}
		case err != nil:
			t.Errorf("oid %d: text Append: %v", tc.oid, err)
		case string(out) != tc.text:
			t.Errorf("oid %d: text Append = %q, want %q", tc.oid, out, tc.text)
		}
		out, err = bcodec.Append(nil, bv)
		if err != nil || string(out) != string(raw) {
			t.Errorf("oid %d: binary Append = %x, %v; want %x", tc.oid, out, err, raw)
		}
	}
}

func mustNumeric(t *testing.T, s string) pgtype.Numeric {
	var n pgtype.Numeric
	if err := n.Scan(s); err != nil {
		t.Fatal(err)
	}
	return n
}

func mustUUID(t *testing.T, s string) pgtype.UUID {
	var u pgtype.UUID
	if err := u.Scan(s); err != nil {
		t.Fatal(err)
	}
	return u
}

func TestBlankPadded(t *testing.T) {
	c, _ := New().Codec(col(pgtype.BPCharOID, executor.TextFormat))
	a, _ := c.Decode([]byte("ab  "))
	b, _ := c.Decode([]byte("ab"))
	if executor.Compare(a, b) != 0 {
		t.Errorf("bpchar 'ab  ' != 'ab'")
	}
}

func TestTimeOrder(t *testing.T) {
	d := New()
	for oid, texts := range map[uint32][]string{
		pgtype.DateOID:        {"-infinity", "4713-11-24 BC", "0001-01-01 BC", "0001-01-01", "1969-12-31", "1970-01-01", "2000-01-01", "5874897-12-31", "infinity"},
		pgtype.TimestampOID:   {"-infinity", "0001-01-01 00:00:00 BC", "1969-12-31 23:59:59.999999", "2000-01-01 00:00:00", "2000-01-01 00:00:00.000001", "294276-12-31 23:59:59.999999", "infinity"},
		pgtype.TimestamptzOID: {"1999-12-31 23:00:00+02", "2000-01-01 00:00:00+00", "2000-01-01 01:00:00-00:30", "2000-01-01 07:00:00+05"},
	} {
		c, err := d.Codec(col(oid, executor.TextFormat))
		if err != nil {
			t.Fatal(err)
		}
		var prev executor.Value
		for i, s := range texts {
			v, err := c.Decode([]byte(s))
			if err != nil {
				t.Errorf("oid %d: %q: %v", oid, s, err)
				continue
			}
			if i > 0 && executor.Compare(prev, v) >= 0 {
				t.Errorf("oid %d: %q (%v) not after %q (%v)", oid, s, v, texts[i-1], prev)
			}
			prev = v
			if oid == pgtype.TimestamptzOID {
				continue
			}
			out, err := c.Append(nil, v)
			if err != nil || string(out) != s {
				t.Errorf("oid %d: Append(%v) = %q, %v; want %q", oid, v, out, err, s)
			}
		}
	}
}

func TestUnsupported(t *testing.T) {
	d := New()
	for _, oid := range []uint32{pgtype.IntervalOID, pgtype.JSONBOID, pgtype.Int4ArrayOID, 99999} {
		_, err := d.Codec(col(oid, executor.TextFormat))
		if e, ok := sqlerr.As(err); !ok || e.Code != sqlerr.FeatureNotSupported {
			t.Errorf("oid %d: %v", oid, err)
		}
	}
	_, err := d.Codec(col(pgtype.IntervalOID, executor.TextFormat))
	if e, _ := sqlerr.As(err); e == nil || e.Message != "the proxy cannot sort, group or aggregate values of type interval across shards" {
		t.Errorf("message: %v", err)
	}
}

func TestBadInput(t *testing.T) {
	d := New()
	for _, tc := range []struct {
		oid    uint32
		format int16
		raw    string
	}{
		{pgtype.Int4OID, 0, "12x"},
		{pgtype.Int8OID, 0, "9223372036854775808"},
		{pgtype.Int8OID, 0, ""},
		{pgtype.Int4OID, 1, "\x00\x01"},
		{pgtype.Float8OID, 0, "abc"},
		{pgtype.NumericOID, 0, "1.2.3"},
		{pgtype.BoolOID, 0, "yes"},
		{pgtype.DateOID, 0, "01/02/2024"},
		{pgtype.TimestamptzOID, 0, "2024-01-01 00:00:00"},
		{pgtype.UUIDOID, 0, "not-a-uuid"},
		{pgtype.UUIDOID, 1, "short"},
	} {
		c, err := d.Codec(col(tc.oid, tc.format))
		if err != nil {
			t.Fatal(err)
		}
		_, err = c.Decode([]byte(tc.raw))
		if e, ok := sqlerr.As(err); !ok || (e.Code != sqlerr.InvalidTextRepresentation && e.Code != sqlerr.InvalidBinaryRepresentation) {
			t.Errorf("oid %d %q: %v", tc.oid, tc.raw, err)
		}
	}
	ic, _ := d.Codec(col(pgtype.Int4OID, 1))
	if _, err := ic.Append(nil, executor.Int(1<<40)); err == nil {
		t.Error("int4 overflow: no error")
	}
}

func TestResultAndAggType(t *testing.T) {
	d := New()
	for _, tc := range []struct {
		f            parser.AggFunc
		partial, out uint32
	}{
		{parser.AggCount, pgtype.Int8OID, pgtype.Int8OID},
		{parser.AggSum, pgtype.Int8OID, pgtype.Int8OID},
		{parser.AggSum, pgtype.NumericOID, pgtype.NumericOID},
		{parser.AggMin, pgtype.TextOID, pgtype.TextOID},
		{parser.AggAvg, pgtype.Int8OID, pgtype.NumericOID},
		{parser.AggAvg, pgtype.NumericOID, pgtype.NumericOID},
		{parser.AggAvg, pgtype.Float4OID, pgtype.Float8OID},
		{parser.AggAvg, pgtype.Float8OID, pgtype.Float8OID},
	} {
		c, err := d.Result(tc.f, col(tc.partial, 1))
		if err != nil || c.Type != tc.out || c.Format != 1 {
			t.Errorf("Result(%s, %d) = %+v, %v; want type %d", tc.f, tc.partial, c, err, tc.out)
		}
	}
	if _, err := d.Result(parser.AggAvg, col(pgtype.IntervalOID, 0)); err == nil {
		t.Error("avg of interval: no error")
	}
	for _, tc := range []struct {
		f       parser.AggFunc
		arg, rt uint32
	}{
		{parser.AggCount, pgtype.TextOID, pgtype.Int8OID},
		{parser.AggSum, pgtype.Int2OID, pgtype.Int8OID},
		{parser.AggSum, pgtype.Int4OID, pgtype.Int8OID},
		{parser.AggSum, pgtype.Int8OID, pgtype.NumericOID},
		{parser.AggSum, pgtype.NumericOID, pgtype.NumericOID},
		{parser.AggSum, pgtype.Float4OID, pgtype.Float4OID},
		{parser.AggAvg, pgtype.Int2OID, pgtype.NumericOID},
		{parser.AggAvg, pgtype.Int8OID, pgtype.NumericOID},
		{parser.AggAvg, pgtype.NumericOID, pgtype.NumericOID},
		{parser.AggAvg, pgtype.Float4OID, pgtype.Float8OID},
		{parser.AggMax, pgtype.DateOID, pgtype.DateOID},
	} {
		if got, ok := AggType(tc.f, tc.arg); !ok || got != tc.rt {
			t.Errorf("AggType(%s, %d) = %d, %v; want %d", tc.f, tc.arg, got, ok, tc.rt)
		}
	}
	if _, ok := AggType(parser.AggSum, pgtype.TextOID); ok {
		t.Error("sum(text) accepted")
	}
}
