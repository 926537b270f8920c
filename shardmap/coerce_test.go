package shardmap

import (
	"errors"
	"math"
	"testing"

	"github.com/shardgate/shardgate/internal/sqlerr"
)

func be(n int, v int64) []byte {
	b := make([]byte, n)
	for i := range b {
		b[i] = byte(uint64(v) >> (8 * (n - 1 - i)))
	}
	return b
}

// The same key, however it is written, has one keyspace ID.
func TestSameKeySameID(t *testing.T) {
	for _, e := range []Engine{Postgres, MySQL} {
		for _, typ := range []ColumnType{TypeSmallint, TypeInt, TypeBigint} {
			forms := []Value{
				Int(42), Numeric("42.0"), Numeric("4.2e1"), Numeric("420e-1"), Text("42"), Text(" 42 "), Text("+42"),
				TextBytes([]byte("42")), Binary(BinaryInt2, be(2, 42)), Binary(BinaryInt4, be(4, 42)), Binary(BinaryInt8, be(8, 42)),
			}
			var first KeyspaceID
			for i, v := range forms {
				k, err := Coerce(e, typ, v, Compare)
				if err != nil {
					t.Fatalf("%s %s %v: %v", e, typ, v, err)
				}
				id := Hash{}.KeyspaceID(k)
				if i == 0 {
					first = id
				} else if id != first {
					t.Errorf("%s %s: %s (%s) → %x, want %x", e, typ, v, v.Kind(), id, first)
				}
			}
		}
	}
	// uuid: every accepted spelling, text and binary.
	u := []byte{0xa0, 0xee, 0xbc, 0x99, 0x9c, 0x0b, 0x4e, 0xf8, 0xbb, 0x6d, 0x6b, 0xb9, 0xbd, 0x38, 0x0a, 0x11}
	forms := []Value{
		Text("a0eebc99-9c0b-4ef8-bb6d-6bb9bd380a11"), Text("A0EEBC99-9C0B-4EF8-BB6D-6BB9BD380A11"),
		Text("{a0eebc99-9c0b-4ef8-bb6d-6bb9bd380a11}"), Text("a0eebc999c0b4ef8bb6d6bb9bd380a11"),
		Text("a0ee-bc99-9c0b-4ef8-bb6d-6bb9-bd38-0a11"), Text("{a0eebc99-9c0b4ef8-bb6d6bb9-bd380a11}"),
		Binary(BinaryUUID, u), Binary(BinaryText, []byte("a0eebc99-9c0b-4ef8-bb6d-6bb9bd380a11")),
	}
	want := Hash{}.KeyspaceID(Key{typ: TypeUUID, u: [16]byte(u)})
	for _, v := range forms {
		k, err := Coerce(Postgres, TypeUUID, v, Compare)
		if err != nil {
			t.Fatalf("uuid %s: %v", v, err)
		}
		if id := (Hash{}).KeyspaceID(k); id != want {
			t.Errorf("uuid %s → %x, want %x", v, id, want)
		}
	}
	// text: literal, bytes and binary parameter agree; an integer assigned to
	// a text column hashes as its decimal text.
	var ids []KeyspaceID
	for _, v := range []Value{Text("42"), TextBytes([]byte("42")), Binary(BinaryText, []byte("42"))} {
		k, err := Coerce(Postgres, TypeText, v, Compare)
		if err != nil {
			t.Fatal(err)
		}
		ids = append(ids, Hash{}.KeyspaceID(k))
	}
	k, err := Coerce(Postgres, TypeText, Int(42), Assign)
	if err != nil {
		t.Fatal(err)
	}
	ids = append(ids, Hash{}.KeyspaceID(k))
	for _, id := range ids[1:] {
		if id != ids[0] {
			t.Fatalf("text forms disagree: %x", ids)
		}
	}
}

func wantState(t *testing.T, err error, state string) {
	t.Helper()
	e, ok := sqlerr.As(err)
	if !ok {
		t.Fatalf("got %v, want SQLSTATE %s", err, state)
	}
	if e.Code != state {
		t.Fatalf("got %s (%s), want SQLSTATE %s", e.Code, e.Message, state)
	}
}

func TestCoerceErrors(t *testing.T) {
	cases := []struct {
		e     Engine
		typ   ColumnType
		v     Value
		u     Use
		state string
	}{
		{Postgres, TypeBigint, Text("42abc"), Compare, sqlerr.InvalidTextRepresentation},
		{Postgres, TypeBigint, Text("42.0"), Compare, sqlerr.InvalidTextRepresentation},
		{Postgres, TypeBigint, Text(""), Compare, sqlerr.InvalidTextRepresentation},
		{Postgres, TypeBigint, Text("-"), Compare, sqlerr.InvalidTextRepresentation},
		{Postgres, TypeBigint, Text("4 2"), Compare, sqlerr.InvalidTextRepresentation},
		{MySQL, TypeBigint, Text("42abc"), Compare, sqlerr.InvalidTextRepresentation},
		{Postgres, TypeBigint, Text("9223372036854775808"), Compare, sqlerr.NumericValueOutOfRange},
		{Postgres, TypeBigint, Text("-9223372036854775809"), Compare, sqlerr.NumericValueOutOfRange},
		{Postgres, TypeBigint, Text("99999999999999999999999"), Compare, sqlerr.NumericValueOutOfRange},
		{Postgres, TypeInt, Text("2147483648"), Compare, sqlerr.NumericValueOutOfRange},
		{Postgres, TypeSmallint, Text("32768"), Assign, sqlerr.NumericValueOutOfRange},
		{Postgres, TypeInt, Int(1 << 31), Assign, sqlerr.NumericValueOutOfRange},
		{Postgres, TypeBigint, Numeric("1e19"), Assign, sqlerr.NumericValueOutOfRange},
		{Postgres, TypeBigint, Binary(BinaryInt4, []byte{1, 2, 3}), Compare, sqlerr.InvalidBinaryRepresentation},
		{Postgres, TypeBigint, Binary(BinaryText, []byte("42")), Compare, sqlerr.UndefinedFunction},
		{Postgres, TypeUUID, Text("not-a-uuid"), Compare, sqlerr.InvalidTextRepresentation},
		{Postgres, TypeUUID, Text("a0eebc99-9c0b-4ef8-bb6d-6bb9bd380a1"), Compare, sqlerr.InvalidTextRepresentation},
		{Postgres, TypeUUID, Text("-a0eebc999c0b4ef8bb6d6bb9bd380a11"), Compare, sqlerr.InvalidTextRepresentation},
		{Postgres, TypeUUID, Text("a0eebc999c0b4ef8bb6d6bb9bd380a11-"), Compare, sqlerr.InvalidTextRepresentation},
		{Postgres, TypeUUID, Text("a0e-ebc999c0b4ef8bb6d6bb9bd380a11"), Compare, sqlerr.InvalidTextRepresentation},
		{Postgres, TypeUUID, Binary(BinaryUUID, make([]byte, 15)), Compare, sqlerr.InvalidBinaryRepresentation},
		{Postgres, TypeUUID, Int(1), Compare, sqlerr.UndefinedFunction},
		{Postgres, TypeText, Int(1), Compare, sqlerr.UndefinedFunction},
		{MySQL, TypeText, Int(1), Compare, sqlerr.FeatureNotSupported},
		{Postgres, TypeText, Text("\xff"), Compare, "22021"},
		{Postgres, TypeBigint, Null(), Assign, sqlerr.NotNullViolation},
	}
	for _, c := range cases {
		_, err := Coerce(c.e, c.typ, c.v, c.u)
		t.Run(c.e.String()+"/"+c.typ.String()+"/"+c.v.String(), func(t *testing.T) { wantState(t, err, c.state) })
	}
}

func TestCoerceNeverMatches(t *testing.T) {
	cases := []struct {
		typ ColumnType
		v   Value
	}{
		{TypeBigint, Null()},
		{TypeBigint, Numeric("42.5")},
		{TypeBigint, Numeric("1e30")},
		{TypeInt, Int(1 << 31)},
		{TypeSmallint, Binary(BinaryInt4, be(4, 40000))},
	}
	for _, c := range cases {
		if _, err := Coerce(Postgres, c.typ, c.v, Compare); !errors.Is(err, ErrNeverMatches) {
			t.Errorf("%s = %s: got %v, want ErrNeverMatches", c.typ, c.v, err)
		}
	}
}

func TestNumericLiterals(t *testing.T) {
	cases := []struct {
		in       string
		assign   int64 // rounded half away from zero
		integral bool  // as a comparison
	}{
		{"42", 42, true}, {"42.0", 42, true}, {"42.000000", 42, true}, {"4.2e1", 42, true}, {"4200e-2", 42, true},
		{"42.5", 43, false}, {"42.4999", 42, false}, {"-42.5", -43, false}, {"0.5", 1, false}, {"0.05", 0, false},
		{"-0.4", 0, false}, {".5", 1, false}, {"5.", 5, true}, {"0", 0, true}, {"-0.0", 0, true},
		{"9223372036854775807", math.MaxInt64, true}, {"-9223372036854775808", math.MinInt64, true},
		{"9223372036854775807.0", math.MaxInt64, true}, {"1e18", 1e18, true},
		{"0.0000000000000000000000000000000000000000000000000000000000000000000000000001", 0, false},
		{"42.00000000000000000000000000000000000000000000000000000000000000000000000000", 42, true},
		{"42.00000000000000000000000000000000000000000000000000000000000000000000000001", 42, false},
	}
	for _, c := range cases {
		n, integral, ok := parseNumericInt([]byte(c.in), true)
		if !ok || !integral || n != c.assign {
			t.Errorf("assign %q: got %d %v %v, want %d", c.in, n, integral, ok, c.assign)
		}
		n, integral, ok = parseNumericInt([]byte(c.in), false)
		if !ok || integral != c.integral || (integral && n != c.assign) {
			t.Errorf("compare %q: got %d integral=%v ok=%v, want integral=%v", c.in, n, integral, ok, c.integral)
		}
	}
	for _, bad := range []string{"9223372036854775808", "-9223372036854775809", "1e19", "1e400", "", ".", "1.2.3", "1e", "abc"} {
		if _, _, ok := parseNumericInt([]byte(bad), true); ok {
			t.Errorf("%q: accepted", bad)
		}
	}
}

func TestIntTextBounds(t *testing.T) {
	for in, want := range map[string]int64{
		"9223372036854775807": math.MaxInt64, "-9223372036854775808": math.MinInt64, "0": 0, "-0": 0, "\t7\n": 7, "007": 7,
	} {
		k, err := Coerce(Postgres, TypeBigint, Text(in), Compare)
		if err != nil || k.Int() != want {
			t.Errorf("%q: got %d, %v; want %d", in, k.Int(), err, want)
		}
	}
}

func TestMySQLTextPadSpace(t *testing.T) {
	a, _ := Coerce(MySQL, TypeText, Text("abc"), Compare)
	b, _ := Coerce(MySQL, TypeText, Text("abc   "), Compare)
	if (Hash{}).KeyspaceID(a) != (Hash{}).KeyspaceID(b) {
		t.Error("MySQL PAD SPACE: trailing spaces must not change the key")
	}
	c, _ := Coerce(Postgres, TypeText, Text("abc "), Compare)
	if (Hash{}).KeyspaceID(a) == (Hash{}).KeyspaceID(c) {
		t.Error("Postgres text compares trailing spaces: keys must differ")
	}
}

func TestRangeVindexOrder(t *testing.T) {
	vals := []int64{math.MinInt64, -1 << 40, -2, -1, 0, 1, 2, 1 << 40, math.MaxInt64}
	for i := 1; i < len(vals); i++ {
		if RangeID(vals[i-1]) >= RangeID(vals[i]) {
			t.Errorf("range vindex not order preserving at %d, %d", vals[i-1], vals[i])
		}
		if RangeValue(RangeID(vals[i])) != vals[i] {
			t.Errorf("RangeValue does not invert RangeID for %d", vals[i])
		}
	}
	if RangeID(0) != 1<<63 {
		t.Error("0 must map to the middle of the space")
	}
}

func FuzzCoerce(f *testing.F) {
	f.Add("42", uint8(0))
	f.Add("  -9223372036854775808 ", uint8(1))
	f.Add("{a0eebc99-9c0b-4ef8-bb6d-6bb9bd380a11}", uint8(2))
	f.Add("4.2e1", uint8(3))
	f.Fuzz(func(t *testing.T, s string, sel uint8) {
		types := []ColumnType{TypeSmallint, TypeInt, TypeBigint, TypeText, TypeUUID}
		typ := types[int(sel)%len(types)]
		for _, v := range []Value{Text(s), Numeric(s), Binary(BinaryInt8, []byte(s)), Binary(BinaryUUID, []byte(s))} {
			for _, u := range []Use{Compare, Assign} {
				k, err := Coerce(Postgres, typ, v, u)
				if err != nil {
					if _, ok := sqlerr.As(err); !ok && !errors.Is(err, ErrNeverMatches) {
						t.Fatalf("untyped error %v", err)
					}
					continue
				}
				if k.Type() != typ {
					t.Fatalf("key type %s for column %s", k.Type(), typ)
				}
				lo, hi := typ.intRange()
				if typ.IsInteger() && (k.Int() < lo || k.Int() > hi) {
					t.Fatalf("%d outside %s", k.Int(), typ)
				}
			}
		}
	})
}
