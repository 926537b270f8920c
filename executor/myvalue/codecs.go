package myvalue

import (
	"math"
	"strconv"

	"github.com/shardgate/shardgate/executor"
	"github.com/shardgate/shardgate/internal/sqlerr"
)

// intCodec reads signed integers and unsigned ones that fit int64.
type intCodec struct{}

func (intCodec) Kind() executor.Kind { return executor.KindInt }

func (intCodec) Decode(raw []byte) (executor.Value, error) {
	n, err := strconv.ParseInt(string(raw), 10, 64)
	if err != nil {
		return executor.Value{}, errField("an integer", raw)
	}
	return executor.Int(n), nil
}

func (intCodec) Append(buf []byte, v executor.Value) ([]byte, error) {
	switch v.Kind() {
	case executor.KindInt:
		return strconv.AppendInt(buf, v.Int(), 10), nil
	case executor.KindDecimal:
		return v.Decimal().Append(buf), nil
	}
	return nil, sqlerr.New(sqlerr.InternalError, "an integer column given a %s", v.Kind())
}

// decimalCodec reads DECIMAL (and unsigned BIGINT, at scale 0) exactly and
// writes it with the column's scale, as MariaDB prints it.
type decimalCodec struct{ scale int32 }

func (decimalCodec) Kind() executor.Kind { return executor.KindDecimal }

func (decimalCodec) Decode(raw []byte) (executor.Value, error) {
	d, err := executor.ParseDecimal(raw)
	if err != nil || d.Form() != executor.Finite {
		return executor.Value{}, errField("a decimal", raw)
	}
	return executor.DecimalValue(d), nil
}

func (c decimalCodec) Append(buf []byte, v executor.Value) ([]byte, error) {
	var d executor.Decimal
	switch v.Kind() {
	case executor.KindDecimal:
		d = v.Decimal()
	case executor.KindInt:
		d = executor.DecimalFromInt(v.Int())
	default:
		return nil, sqlerr.New(sqlerr.InternalError, "a decimal column given a %s", v.Kind())
	}
	if d.Scale() != c.scale {
		var err error
		if d, err = d.Quo(executor.DecimalFromInt(1), c.scale); err != nil {
			return nil, err
		}
	}
	return d.Append(buf), nil
}

// floatCodec reads FLOAT and DOUBLE; it writes a double as MariaDB prints
// one: the shortest digits that read back as the same double, in plain
// notation for exponents -4..14, else as 1.5e-7 / 1.2345e17 — or, for a
// column with fixed decimals (DOUBLE(10,3), and its sum), with exactly
// that many (the differential test's finding: sum of a DOUBLE(10,3) was
// -6086.093999999997 where MariaDB shows -6086.094).
type floatCodec struct {
	decimals int // notFixedDecimals: not fixed
}

func (floatCodec) Kind() executor.Kind { return executor.KindFloat }

func (floatCodec) Decode(raw []byte) (executor.Value, error) {
	f, err := strconv.ParseFloat(string(raw), 64)
	if err != nil {
		return executor.Value{}, errField("a float", raw)
	}
	return executor.Float(f), nil
}

func (c floatCodec) Append(buf []byte, v executor.Value) ([]byte, error) {
	var f float64
	switch v.Kind() {
	case executor.KindFloat:
		f = v.Float()
	case executor.KindInt:
		f = float64(v.Int())
	case executor.KindDecimal:
		f = v.Decimal().Float64()
	default:
		return nil, sqlerr.New(sqlerr.InternalError, "a float column given a %s", v.Kind())
	}
	if math.IsInf(f, 0) || math.IsNaN(f) {
		return nil, sqlerr.New(sqlerr.NumericValueOutOfRange, "DOUBLE value is out of range")
	}
	if c.decimals > 0 && c.decimals < notFixedDecimals {
		return strconv.AppendFloat(buf, f, 'f', c.decimals, 64), nil
	}
	return appendDouble(buf, f), nil
}

func appendDouble(buf []byte, f float64) []byte {
	if f == 0 {
		return append(buf, '0')
	}
	e := strconv.AppendFloat(nil, f, 'e', -1, 64)
	// e is [-]d[.ddd]e±XX.
	i := len(e) - 1
	for e[i] != 'e' {
		i--
	}
	exp, _ := strconv.Atoi(string(e[i+1:]))
	if exp >= -4 && exp < 15 {
		return strconv.AppendFloat(buf, f, 'f', -1, 64)
	}
	buf = append(buf, e[:i+1]...)
	if exp < 0 {
		buf = append(buf, '-')
		exp = -exp
	}
	return strconv.AppendInt(buf, int64(exp), 10)
}

// bytesCodec compares fields bytewise: binary strings, BIT, and dates and
// datetimes (fixed width within a column).
type bytesCodec struct{}

func (bytesCodec) Kind() executor.Kind { return executor.KindBytes }

func (bytesCodec) Decode(raw []byte) (executor.Value, error) { return executor.Bytes(raw), nil }

func (bytesCodec) Append(buf []byte, v executor.Value) ([]byte, error) {
	if v.Kind() != executor.KindBytes {
		return nil, sqlerr.New(sqlerr.InternalError, "a string column given a %s", v.Kind())
	}
	return append(buf, v.Bytes()...), nil
}

// timeCodec reads TIME ([-]h…h:mm:ss[.ffffff], hours up to 838) as
// microseconds: its text does not sort (-1:00:00, 100:00:00).
type timeCodec struct{ decimals int }

func (timeCodec) Kind() executor.Kind { return executor.KindTime }

func (timeCodec) Decode(raw []byte) (executor.Value, error) {
	s := raw
	neg := len(s) > 0 && s[0] == '-'
	if neg {
		s = s[1:]
	}
	var parts [3]int64
	var frac int64
	p, digits, fracDigits := 0, 0, -1
	for _, c := range s {
		switch {
		case c >= '0' && c <= '9':
			if fracDigits >= 0 {
				if fracDigits < 6 {
					frac = frac*10 + int64(c-'0')
					fracDigits++
				}
				continue
			}
			parts[p] = parts[p]*10 + int64(c-'0')
			digits++
		case c == ':' && p < 2 && digits > 0 && fracDigits < 0:
			p++
			digits = 0
		case c == '.' && p == 2 && fracDigits < 0:
			fracDigits = 0
		default:
			return executor.Value{}, errField("a time", raw)
		}
	}
	if p != 2 || digits == 0 {
		return executor.Value{}, errField("a time", raw)
	}
	for ; fracDigits > 0 && fracDigits < 6; fracDigits++ {
		frac *= 10
	}
	us := ((parts[0]*60+parts[1])*60+parts[2])*1_000_000 + frac
	if neg {
		us = -us
	}
	return executor.Time(us), nil
}

func (c timeCodec) Append(buf []byte, v executor.Value) ([]byte, error) {
	if v.Kind() != executor.KindTime {
		return nil, sqlerr.New(sqlerr.InternalError, "a time column given a %s", v.Kind())
	}
	us := v.Int()
	if us < 0 {
		buf = append(buf, '-')
		us = -us
	}
	sec := us / 1_000_000
	h, m, s := sec/3600, sec/60%60, sec%60
	if h < 10 {
		buf = append(buf, '0')
	}
	buf = strconv.AppendInt(buf, h, 10)
	buf = append(buf, ':', byte('0'+m/10), byte('0'+m%10), ':', byte('0'+s/10), byte('0'+s%10))
	if c.decimals > 0 && c.decimals <= 6 {
		f := strconv.FormatInt(1_000_000+us%1_000_000, 10)[1:]
		buf = append(buf, '.')
		buf = append(buf, f[:c.decimals]...)
	}
	return buf, nil
}
