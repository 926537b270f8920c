package myvalue

import (
	"errors"
	"testing"

	"github.com/shardgate/shardgate/executor"
	"github.com/shardgate/shardgate/internal/sqlerr"
	"github.com/shardgate/shardgate/parser"
)

func codec(t *testing.T, c executor.Column) executor.Codec {
	t.Helper()
	cd, err := New().Codec(c)
	if err != nil {
		t.Fatal(err)
	}
	return cd
}

// TestRoundTrip: what a shard sent comes back byte for byte, so merged
// values keep their type, scale and sign.
func TestRoundTrip(t *testing.T) {
	cases := []struct {
		col  executor.Column
		text string
	}{
		{Column(TypeLongLong, false, BinaryCharset, 0), "-9223372036854775808"},
		{Column(TypeLongLong, true, BinaryCharset, 0), "18446744073709551615"},
		{Column(TypeLong, true, BinaryCharset, 0), "4294967295"},
		{Column(TypeNewDecimal, false, BinaryCharset, 2), "-12.50"},
		{Column(TypeNewDecimal, false, BinaryCharset, 4), "0.0001"},
		{Column(TypeDouble, false, BinaryCharset, 31), "0.30000000000000004"},
		{Column(TypeDouble, false, BinaryCharset, 31), "1.5e-7"},
		{Column(TypeDouble, false, BinaryCharset, 31), "1.2345678901234568e17"},
		{Column(TypeDouble, false, BinaryCharset, 31), "123456789012345"},
		{Column(TypeTime, false, BinaryCharset, 0), "-838:59:59"},
		{Column(TypeTime, false, BinaryCharset, 3), "01:02:03.450"},
		{Column(TypeDatetime, false, BinaryCharset, 6), "2024-01-02 03:04:05.000006"},
		{Column(TypeBlob, false, BinaryCharset, 0), "\x00\xff"},
	}
	for _, c := range cases {
		cd := codec(t, c.col)
		v, err := cd.Decode([]byte(c.text))
		if err != nil {
			t.Errorf("%q: %v", c.text, err)
			continue
		}
		out, err := cd.Append(nil, v)
		if err != nil || string(out) != c.text {
			t.Errorf("%q: got %q, %v", c.text, out, err)
		}
	}
}

// TestOrder: values compare as MariaDB orders them.
func TestOrder(t *testing.T) {
	cases := []struct {
		col  executor.Column
		a, b string // a < b
	}{
		{Column(TypeLongLong, true, BinaryCharset, 0), "9223372036854775808", "18446744073709551615"},
		{Column(TypeTime, false, BinaryCharset, 0), "-01:00:00", "00:00:00"},
		{Column(TypeTime, false, BinaryCharset, 0), "99:00:00", "100:00:00"},
		{Column(TypeNewDecimal, false, BinaryCharset, 2), "-10.00", "9.99"},
		{Column(TypeVarString, false, BinaryCharset, 0), "a", "a\x00"},
	}
	for _, c := range cases {
		cd := codec(t, c.col)
		a, err1 := cd.Decode([]byte(c.a))
		b, err2 := cd.Decode([]byte(c.b))
		if err1 != nil || err2 != nil || executor.Compare(a, b) >= 0 {
			t.Errorf("%q < %q: %v %v %v", c.a, c.b, executor.Compare(a, b), err1, err2)
		}
	}
}

// TestTextRefused: text without its collation is never compared (the
// session must ask for it); ENUM is refused.
func TestTextRefused(t *testing.T) {
	for _, c := range []executor.Column{Column(TypeVarString, false, 45, 0), Column(TypeBlob, false, 33, 0)} {
		if _, err := New().Codec(c); !errors.Is(err, ErrCollationNeeded) {
			t.Errorf("%+v: got %v, want ErrCollationNeeded", c, err)
		}
	}
	_, err := New().Codec(Column(TypeEnum, false, BinaryCharset, 0))
	var e *sqlerr.Error
	if !errors.As(err, &e) || e.Number != 1235 {
		t.Errorf("ENUM: got %v, want 1235", err)
	}
}

// TestAvg: avg(int) is DECIMAL with div_precision_increment decimals,
// rounded half up; avg(double) a double.
func TestAvg(t *testing.T) {
	d := New()
	res, err := d.Result(parser.AggAvg, Column(TypeNewDecimal, false, BinaryCharset, 0))
	if err != nil || Decimals(res) != 4 || WireType(res) != TypeNewDecimal {
		t.Fatalf("result %+v %v", res, err)
	}
	for _, c := range []struct {
		sum   string
		count int64
		want  string
	}{{"5", 3, "1.6667"}, {"-5", 3, "-1.6667"}, {"4", 3, "1.3333"}, {"1", 8, "0.1250"}} {
		sum, _ := executor.ParseDecimal([]byte(c.sum))
		v, err := d.Avg(executor.DecimalValue(sum), c.count, res)
		if err != nil {
			t.Fatal(err)
		}
		out, _ := codec(t, res).Append(nil, v)
		if string(out) != c.want {
			t.Errorf("%s/%d = %s, want %s", c.sum, c.count, out, c.want)
		}
	}
	res, _ = d.Result(parser.AggAvg, Column(TypeNewDecimal, false, BinaryCharset, 2))
	if Decimals(res) != 6 {
		t.Errorf("avg of decimal(,2): scale %d, want 6", Decimals(res))
	}
	if res, _ = d.WithDivPrecisionIncrement(0).Result(parser.AggAvg, Column(TypeNewDecimal, false, BinaryCharset, 0)); Decimals(res) != 0 {
		t.Errorf("div_precision_increment 0: scale %d", Decimals(res))
	}
	// A scale that is a whole number of 9-digit words is truncated, as
	// MariaDB's decimal_div leaves it (checked on MariaDB 10.11 by the
	// differential test: avg of INTs under div_precision_increment = 0).
	for _, c := range []struct {
		sum         string
		count       int64
		incr, scale int
		want        string
	}{
		{"11", 2, 0, 0, "5"}, {"-11", 2, 0, 0, "-5"}, {"11", 2, 4, 0, "5.5000"}, {"17", 3, 1, 0, "5.7"},
		{"0.00002", 3, 4, 5, "0.000006666"}, {"0.00002", 3, 5, 5, "0.0000066667"},
	} {
		dd := d.WithDivPrecisionIncrement(c.incr)
		res, _ := dd.Result(parser.AggAvg, Column(TypeNewDecimal, false, BinaryCharset, uint8(c.scale)))
		sum, _ := executor.ParseDecimal([]byte(c.sum))
		v, err := dd.Avg(executor.DecimalValue(sum), c.count, res)
		if err != nil {
			t.Fatal(err)
		}
		out, _ := codec(t, res).Append(nil, v)
		if string(out) != c.want {
			t.Errorf("incr %d: %s/%d = %s, want %s", c.incr, c.sum, c.count, out, c.want)
		}
	}
}

func FuzzDecode(f *testing.F) {
	for _, s := range []string{"1", "-1.50", "12:00:00.5", "-838:59:59", "1e300", "x"} {
		f.Add(s)
	}
	cols := []executor.Column{
		Column(TypeLongLong, false, BinaryCharset, 0), Column(TypeLongLong, true, BinaryCharset, 0),
		Column(TypeNewDecimal, false, BinaryCharset, 2), Column(TypeDouble, false, BinaryCharset, 31),
		Column(TypeTime, false, BinaryCharset, 6),
	}
	f.Fuzz(func(t *testing.T, s string) {
		for _, c := range cols {
			cd, _ := New().Codec(c)
			v, err := cd.Decode([]byte(s))
			if err != nil {
				continue
			}
			if _, err := cd.Append(nil, v); err != nil && c.Type != uint32(TypeDouble) {
				t.Errorf("%q decoded but does not encode: %v", s, err)
			}
		}
	})
}

// TestFixedDecimalsDouble: a DOUBLE(M,D) column (and its sum) is written
// with D decimals, as MariaDB shows it; avg of it has D +
// div_precision_increment.
func TestFixedDecimalsDouble(t *testing.T) {
	col := Column(TypeDouble, false, BinaryCharset, 3)
	for f, want := range map[float64]string{-6086.093999999997: "-6086.094", 0.5: "0.500", 12: "12.000", -0.0004: "-0.000"} {
		out, err := codec(t, col).Append(nil, executor.Float(f))
		if err != nil || string(out) != want {
			t.Errorf("%v: %s %v, want %s", f, out, err, want)
		}
	}
	out, _ := codec(t, Column(TypeDouble, false, BinaryCharset, notFixedDecimals)).Append(nil, executor.Float(1.0/3))
	if string(out) != "0.3333333333333333" {
		t.Errorf("not fixed: %s", out)
	}
	exact, _ := New().WithExactDoubles().Codec(col)
	if out, _ := exact.Append(nil, executor.Float(-6086.093999999997)); string(out) != "-6086.093999999997" {
		t.Errorf("binary protocol: %s", out)
	}
	d := New()
	if res, _ := d.Result(parser.AggAvg, col); Decimals(res) != 7 {
		t.Errorf("avg of DOUBLE(10,3): %d decimals, want 7", Decimals(res))
	}
	if res, _ := d.Result(parser.AggAvg, Column(TypeDouble, false, BinaryCharset, notFixedDecimals)); Decimals(res) != notFixedDecimals {
		t.Errorf("avg of DOUBLE: %d decimals, want %d", Decimals(res), notFixedDecimals)
	}
}
