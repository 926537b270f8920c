package pgvalue

import (
	"bytes"
	"encoding/hex"
	"testing"

	"github.com/jackc/pgx/v5/pgtype"

	"github.com/shardgate/shardgate/executor"
)

func decimal(t *testing.T, s string) executor.Decimal {
	t.Helper()
	d, err := executor.ParseDecimal([]byte(s))
	if err != nil {
		t.Fatal(err)
	}
	return d
}

// Known outputs of Postgres (numeric_div and avg's final functions).
func TestNumericDiv(t *testing.T) {
	for _, tc := range []struct {
		x, y, want string
	}{
		{"3", "2", "1.5000000000000000"},       // avg of ints 1, 2
		{"5", "3", "1.6666666666666667"},       // avg of 1, 2, 2
		{"55", "10", "5.5000000000000000"},     // avg(generate_series(1, 10))
		{"5050", "100", "50.5000000000000000"}, // avg(generate_series(1, 100))
		{"1", "3", "0.33333333333333333333"},   // 1::numeric / 3
		{"10", "3", "3.3333333333333333"},      // 10::numeric / 3
		{"100000", "3", "33333.333333333333"},  // 100000::numeric / 3
		{"55.00", "3", "18.3333333333333333"},  // avg of numeric(12,2) 10, 20, 25
		{"3.75", "2", "1.8750000000000000"},    // avg of 1.5, 2.25
		{"-3", "2", "-1.5000000000000000"},     // avg of -1, -2
		{"-5", "3", "-1.6666666666666667"},     // rounding half away from zero
		{"123456789012", "7", "17636684144.57142857"},
		{"1", "30000", "0.000033333333333333333333"},
		{"0", "5", "0.00000000000000000000"}, // avg of zeros: first digits 0 ≤ 5
		{"0.000", "5", "0.00000000000000000000"},
		{"1.1234567890123456789", "1", "1.12345678901234567890"},            // equal first digits: one more group
		{"1.1234567890123456789012345", "3", "0.3744855963374485596337448"}, // input scale wins
		{"NaN", "3", "NaN"},
		{"Infinity", "3", "Infinity"},
		{"-Infinity", "3", "-Infinity"},
	} {
		v, err := numericDiv(decimal(t, tc.x), decimal(t, tc.y))
		if err != nil || v.Decimal().String() != tc.want {
			t.Errorf("%s / %s = %v, %v; want %s", tc.x, tc.y, v, err, tc.want)
		}
	}
}

func TestAvg(t *testing.T) {
	d := New()
	numeric := executor.Column{Type: pgtype.NumericOID, Size: -1, Modifier: -1}
	for _, tc := range []struct {
		sum   executor.Value
		count int64
		want  string
	}{
		{executor.Int(3), 2, "1.5000000000000000"},
		{executor.Int(5), 3, "1.6666666666666667"},
		{executor.DecimalValue(decimal(t, "55.00")), 3, "18.3333333333333333"},
	} {
		v, err := d.Avg(tc.sum, tc.count, numeric)
		if err != nil {
			t.Fatal(err)
		}
		got, _ := numericCodec{}.Append(nil, v)
		if string(got) != tc.want {
			t.Errorf("avg(%v / %d) = %s, want %s", tc.sum, tc.count, got, tc.want)
		}
	}
	v, _ := d.Avg(executor.Float(1), 3, executor.Column{Type: pgtype.Float8OID})
	got, _ := floatCodec{size: 8, extraDigits: 1}.Append(nil, v)
	if string(got) != "0.3333333333333333" {
		t.Errorf("avg of floats: %s", got)
	}
	if v, _ := d.Avg(executor.Int(1), 0, numeric); !v.IsNull() {
		t.Errorf("avg over no rows: %v", v)
	}
}

func TestNumericBinary(t *testing.T) {
	for _, tc := range []struct {
		text string
		hex  string // ndigits weight sign dscale digits…
	}{
		{"12345.67", "0003" + "0001" + "0000" + "0002" + "0001" + "0929" + "1a2c"},
		{"0.00", "0000" + "0000" + "0000" + "0002"},
		{"0", "0000" + "0000" + "0000" + "0000"},
		{"-0.001", "0001" + "ffff" + "4000" + "0003" + "000a"},
		{"10000", "0001" + "0001" + "0000" + "0000" + "0001"},
		{"1.5000000000000000", "0002" + "0000" + "0000" + "0010" + "0001" + "1388"},
		{"NaN", "0000" + "0000" + "c000" + "0000"},
		// As Postgres 15 sends them (checked against a server): the
		// header bits numeric_send reads as a display scale make 32.
		{"Infinity", "0000" + "0000" + "d000" + "0020"},
		{"-Infinity", "0000" + "0000" + "f000" + "0020"},
	} {
		want, _ := hex.DecodeString(tc.hex)
		got := appendNumericBinary(nil, decimal(t, tc.text))
		if !bytes.Equal(got, want) {
			t.Errorf("binary %s = %x, want %x", tc.text, got, want)
		}
		d, err := decodeNumericBinary(want)
		if err != nil || d.String() != tc.text {
			t.Errorf("decode %x = %s, %v; want %s", want, d, err, tc.text)
		}
	}
	// pgtype encodes what numeric_send would; both must read alike.
	for _, s := range []string{"0", "1", "-1", "123.456", "0.000001", "99999999999999999999.99", "-12345678.9"} {
		var n pgtype.Numeric
		if err := n.Scan(s); err != nil {
			t.Fatal(err)
		}
		raw, err := pgtype.NewMap().Encode(pgtype.NumericOID, pgtype.BinaryFormatCode, n, nil)
		if err != nil {
			t.Fatal(err)
		}
		d, err := decodeNumericBinary(raw)
		if err != nil || d.Cmp(decimal(t, s)) != 0 {
			t.Errorf("decode pgtype's %s (%x) = %s, %v", s, raw, d, err)
		}
	}
	for _, bad := range []string{"", "0001000000000000", "0001000000000000ffff", "0000000012340000"} {
		raw, _ := hex.DecodeString(bad)
		if _, err := decodeNumericBinary(raw); err == nil {
			t.Errorf("decode %s: no error", bad)
		}
	}
}
