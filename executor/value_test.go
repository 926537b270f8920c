package executor

import (
	"bytes"
	"math"
	"math/big"
	"testing"

	"github.com/shardgate/shardgate/internal/sqlerr"
)

func dec(t *testing.T, s string) Decimal {
	t.Helper()
	d, err := ParseDecimal([]byte(s))
	if err != nil {
		t.Fatalf("ParseDecimal(%q): %v", s, err)
	}
	return d
}

func TestDecimalParseFormat(t *testing.T) {
	for _, tc := range []struct{ in, out string }{
		{"0", "0"},
		{"0.00", "0.00"},
		{"1.50", "1.50"},
		{"-1.5", "-1.5"},
		{"+7", "7"},
		{".5", "0.5"},
		{"5.", "5"},
		{"-0.001", "-0.001"},
		{"123456789012345678901234567890.123456789", "123456789012345678901234567890.123456789"},
		{"NaN", "NaN"},
		{"Infinity", "Infinity"},
		{"-Infinity", "-Infinity"},
		{"inf", "Infinity"},
	} {
		if got := dec(t, tc.in).String(); got != tc.out {
			t.Errorf("ParseDecimal(%q).String() = %q, want %q", tc.in, got, tc.out)
		}
	}
	for _, bad := range []string{"", "-", ".", "1.2.3", "1e5", "12a", " 1"} {
		if _, err := ParseDecimal([]byte(bad)); err == nil {
			t.Errorf("ParseDecimal(%q): no error", bad)
		}
	}
	if got := NewDecimal(big.NewInt(15), -2).String(); got != "1500" {
		t.Errorf("negative scale: %q", got)
	}
}

func TestDecimalArithmetic(t *testing.T) {
	for _, tc := range []struct{ a, b, sum string }{
		{"1.50", "2.5", "4.00"},
		{"0.01", "-0.01", "0.00"},
		{"99999999999999999999", "1", "100000000000000000000"},
		{"NaN", "1", "NaN"},
		{"Infinity", "1", "Infinity"},
		{"Infinity", "-Infinity", "NaN"},
		{"-Infinity", "-Infinity", "-Infinity"},
		{"1", "-Infinity", "-Infinity"},
	} {
		if got := dec(t, tc.a).Add(dec(t, tc.b)).String(); got != tc.sum {
			t.Errorf("%s + %s = %s, want %s", tc.a, tc.b, got, tc.sum)
		}
	}
	for _, tc := range []struct {
		a, b  string
		scale int32
		q     string
	}{
		{"1", "3", 5, "0.33333"},
		{"2", "3", 5, "0.66667"},
		{"-2", "3", 5, "-0.66667"},
		{"1", "8", 2, "0.13"}, // 0.125 → half away from zero
		{"-1", "8", 2, "-0.13"},
		{"1.00", "4", 0, "0"},
		{"10.5", "0.5", 1, "21.0"},
		{"Infinity", "-2", 3, "-Infinity"},
		{"5", "Infinity", 2, "0.00"},
	} {
		q, err := dec(t, tc.a).Quo(dec(t, tc.b), tc.scale)
		if err != nil || q.String() != tc.q {
			t.Errorf("%s / %s (scale %d) = %s, %v; want %s", tc.a, tc.b, tc.scale, q, err, tc.q)
		}
	}
	_, err := dec(t, "1").Quo(dec(t, "0.0"), 2)
	if e, ok := sqlerr.As(err); !ok || e.Code != "22012" {
		t.Errorf("division by zero: %v", err)
	}
}

func TestCompare(t *testing.T) {
	nan := math.NaN()
	ordered := [][]Value{
		{Int(math.MinInt64), Int(-1), Int(0), Int(7), Int(math.MaxInt64), Null()},
		{Float(math.Inf(-1)), Float(-1.5), Float(0), Float(2), Float(math.Inf(1)), Float(nan), Null()},
		{DecimalValue(DecimalSpecial(NegInfinity)), DecimalValue(dec(t, "-2")), DecimalValue(dec(t, "0.001")),
			DecimalValue(dec(t, "1.5")), DecimalValue(DecimalSpecial(Infinity)), DecimalValue(DecimalSpecial(NaN))},
		{Bytes([]byte("")), Bytes([]byte("A")), Bytes([]byte("B")), Bytes([]byte("a")), Bytes([]byte("ab")), Bytes([]byte("é"))},
		{Bool(false), Bool(true)},
		{Time(math.MinInt64), Time(-5), Time(0), Time(math.MaxInt64)},
	}
	for _, vs := range ordered {
		for i := range vs {
			for j := range vs {
				want := cmpInt(int64(i), int64(j))
				if got := Compare(vs[i], vs[j]); got != want {
					t.Errorf("Compare(%v, %v) = %d, want %d", vs[i], vs[j], got, want)
				}
			}
		}
	}
	equal := [][2]Value{
		{Float(nan), Float(-nan)},
		{Float(0), Float(math.Copysign(0, -1))},
		{DecimalValue(dec(t, "1.5")), DecimalValue(dec(t, "1.500"))},
		{DecimalValue(dec(t, "0")), DecimalValue(dec(t, "0.00"))},
		{Int(2), DecimalValue(dec(t, "2.0"))},
		{Null(), Null()},
	}
	for _, p := range equal {
		if Compare(p[0], p[1]) != 0 {
			t.Errorf("Compare(%v, %v) != 0", p[0], p[1])
		}
		if k0, k1 := p[0].appendKey(nil), p[1].appendKey(nil); !bytes.Equal(k0, k1) && p[0].kind == p[1].kind {
			t.Errorf("keys of %v and %v differ: %x %x", p[0], p[1], k0, k1)
		}
	}
	if bytes.Equal(Bytes([]byte("a")).appendKey(Bytes([]byte("b")).appendKey(nil)),
		Bytes([]byte("ab")).appendKey(Bytes([]byte("")).appendKey(nil))) {
		t.Error("keys of several columns are ambiguous")
	}
}

func TestAdd(t *testing.T) {
	v, err := Add(Null(), Null())
	if err != nil || !v.IsNull() {
		t.Errorf("NULL+NULL = %v, %v", v, err)
	}
	v, _ = Add(Null(), Int(3))
	if v.Int() != 3 {
		t.Errorf("NULL+3 = %v", v)
	}
	v, _ = Add(Int(3), DecimalValue(dec(t, "0.25")))
	if v.Kind() != KindDecimal || v.Decimal().String() != "3.25" {
		t.Errorf("3+0.25 = %v", v)
	}
	v, _ = Add(Float(0.5), Float(0.25))
	if v.Float() != 0.75 {
		t.Errorf("0.5+0.25 = %v", v)
	}
	for _, p := range [][2]int64{{math.MaxInt64, 1}, {math.MinInt64, -1}} {
		_, err := Add(Int(p[0]), Int(p[1]))
		if e, ok := sqlerr.As(err); !ok || e.Code != sqlerr.NumericValueOutOfRange {
			t.Errorf("%d+%d: %v", p[0], p[1], err)
		}
	}
	if _, err := Add(Bytes(nil), Int(1)); err == nil {
		t.Error("bytes+int: no error")
	}
}

func TestCloneValues(t *testing.T) {
	row := []byte("hello world")
	src := []Value{Bytes(row[:5]), Int(3), Bytes(row[6:])}
	dst, _ := cloneValues(nil, src, nil)
	copy(row, "XXXXXXXXXXX")
	if string(dst[0].b) != "hello" || string(dst[2].b) != "world" || dst[1].Int() != 3 {
		t.Errorf("clone shares bytes: %v", dst)
	}
}
