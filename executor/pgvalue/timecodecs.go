package pgvalue

import (
	"encoding/binary"
	"math"
	"time"

	"github.com/jackc/pgx/v5/pgtype"

	"github.com/shardgate/shardgate/executor"
	"github.com/shardgate/shardgate/internal/sqlerr"
)

// Time values are Postgres' own ordinals, so that the binary forms decode
// without conversion: microseconds since 2000-01-01 00:00 UTC for
// timestamp and timestamptz, days since 2000-01-01 for date; ±infinity are
// math.MinInt64 and math.MaxInt64 (as timestamps are on the wire).
const (
	pgEpochUnix    = 946684800 // 2000-01-01 in Unix seconds
	pgEpochDaysUTC = 10957     // 2000-01-01 in days since 1970-01-01
	secondsPerDay  = 86400
	microsPerSec   = 1_000_000
)

func textErr(typ string, raw []byte, err error) error {
	return errText(typ, raw).Wrap(err)
}

// dateCodec: date. Text through pgtype's parser (DateStyle ISO).
type dateCodec struct {
	binary bool
	scan   pgtype.ScanPlan
	encode pgtype.EncodePlan
}

func newDateCodec(bin bool) dateCodec {
	c := dateCodec{binary: bin}
	if !bin {
		var d pgtype.Date
		c.scan = pgtype.DateCodec{}.PlanScan(nil, pgtype.DateOID, pgtype.TextFormatCode, &d)
		c.encode = pgtype.DateCodec{}.PlanEncode(nil, pgtype.DateOID, pgtype.TextFormatCode, d)
	}
	return c
}

func (dateCodec) Kind() executor.Kind { return executor.KindTime }

func (c dateCodec) Decode(raw []byte) (executor.Value, error) {
	if c.binary {
		if len(raw) != 4 {
			return executor.Value{}, errBinary("date", raw)
		}
		switch days := int32(binary.BigEndian.Uint32(raw)); days {
		case math.MaxInt32:
			return executor.Time(math.MaxInt64), nil
		case math.MinInt32:
			return executor.Time(math.MinInt64), nil
		default:
			return executor.Time(int64(days)), nil
		}
	}
	var d pgtype.Date
	if err := c.scan.Scan(raw, &d); err != nil {
		return executor.Value{}, textErr("date", raw, err)
	}
	switch d.InfinityModifier {
	case pgtype.Infinity:
		return executor.Time(math.MaxInt64), nil
	case pgtype.NegativeInfinity:
		return executor.Time(math.MinInt64), nil
	}
	return executor.Time(floorDiv(d.Time.Unix(), secondsPerDay) - pgEpochDaysUTC), nil
}

func (c dateCodec) Append(buf []byte, v executor.Value) ([]byte, error) {
	if v.Kind() != executor.KindTime {
		return nil, errKind("date", v)
	}
	n := v.Int()
	if c.binary {
		var days int32
		switch {
		case n == math.MaxInt64:
			days = math.MaxInt32
		case n == math.MinInt64:
			days = math.MinInt32
		case n >= math.MaxInt32 || n <= math.MinInt32:
			return nil, sqlerr.New(sqlerr.NumericValueOutOfRange, "date out of range")
		default:
			days = int32(n)
		}
		return binary.BigEndian.AppendUint32(buf, uint32(days)), nil
	}
	d := pgtype.Date{Valid: true}
	switch n {
	case math.MaxInt64:
		d.InfinityModifier = pgtype.Infinity
	case math.MinInt64:
		d.InfinityModifier = pgtype.NegativeInfinity
	default:
		d.Time = time.Unix((n+pgEpochDaysUTC)*secondsPerDay, 0).UTC()
	}
	return c.encode.Encode(d, buf)
}

// timestampCodec: timestamp and timestamptz. Binary is the ordinal itself;
// text goes through pgtype's parser (DateStyle ISO). A timestamptz is
// never written as text: its text depends on the session's TimeZone,
// which the proxy does not track (min/max pass the shard's bytes through).
type timestampCodec struct {
	binary bool
	tz     bool
	scan   pgtype.ScanPlan
	encode pgtype.EncodePlan
}

func newTimestampCodec(bin, tz bool) timestampCodec {
	c := timestampCodec{binary: bin, tz: tz}
	if bin {
		return c
	}
	if tz {
		var t pgtype.Timestamptz
		c.scan = (&pgtype.TimestamptzCodec{}).PlanScan(nil, pgtype.TimestamptzOID, pgtype.TextFormatCode, &t)
	} else {
		var t pgtype.Timestamp
		c.scan = (&pgtype.TimestampCodec{}).PlanScan(nil, pgtype.TimestampOID, pgtype.TextFormatCode, &t)
		c.encode = (&pgtype.TimestampCodec{}).PlanEncode(nil, pgtype.TimestampOID, pgtype.TextFormatCode, t)
	}
	return c
}

func (timestampCodec) Kind() executor.Kind { return executor.KindTime }

func (c timestampCodec) name() string {
	if c.tz {
		return "timestamptz"
	}
	return "timestamp"
}

func (c timestampCodec) Decode(raw []byte) (executor.Value, error) {
	if c.binary {
		if len(raw) != 8 {
			return executor.Value{}, errBinary(c.name(), raw)
		}
		return executor.Time(int64(binary.BigEndian.Uint64(raw))), nil
	}
	var t time.Time
	var inf pgtype.InfinityModifier
	if c.tz {
		var ts pgtype.Timestamptz
		if err := c.scan.Scan(raw, &ts); err != nil {
			return executor.Value{}, textErr(c.name(), raw, err)
		}
		t, inf = ts.Time, ts.InfinityModifier
	} else {
		var ts pgtype.Timestamp
		if err := c.scan.Scan(raw, &ts); err != nil {
			return executor.Value{}, textErr(c.name(), raw, err)
		}
		t, inf = ts.Time, ts.InfinityModifier
	}
	switch inf {
	case pgtype.Infinity:
		return executor.Time(math.MaxInt64), nil
	case pgtype.NegativeInfinity:
		return executor.Time(math.MinInt64), nil
	}
	return executor.Time((t.Unix()-pgEpochUnix)*microsPerSec + int64(t.Nanosecond()/1000)), nil
}

func (c timestampCodec) Append(buf []byte, v executor.Value) ([]byte, error) {
	if v.Kind() != executor.KindTime {
		return nil, errKind(c.name(), v)
	}
	n := v.Int()
	if c.binary {
		return binary.BigEndian.AppendUint64(buf, uint64(n)), nil
	}
	if c.tz {
		return nil, sqlerr.New(sqlerr.FeatureNotSupported, "the proxy cannot write timestamptz as text: it depends on the session's TimeZone")
	}
	ts := pgtype.Timestamp{Valid: true}
	switch n {
	case math.MaxInt64:
		ts.InfinityModifier = pgtype.Infinity
	case math.MinInt64:
		ts.InfinityModifier = pgtype.NegativeInfinity
	default:
		sec := floorDiv(n, microsPerSec)
		ts.Time = time.Unix(sec+pgEpochUnix, (n-sec*microsPerSec)*1000).UTC()
	}
	return c.encode.Encode(ts, buf)
}

func floorDiv(a, b int64) int64 {
	q := a / b
	if (a%b != 0) && ((a < 0) != (b < 0)) {
		q--
	}
	return q
}

// uuidCodec: uuid, as its 16 bytes (Postgres compares them bytewise).
type uuidCodec struct {
	binary bool
	scan   pgtype.ScanPlan
	encode pgtype.EncodePlan
}

func newUUIDCodec(bin bool) uuidCodec {
	c := uuidCodec{binary: bin}
	if !bin {
		var u pgtype.UUID
		c.scan = pgtype.UUIDCodec{}.PlanScan(nil, pgtype.UUIDOID, pgtype.TextFormatCode, &u)
		c.encode = pgtype.UUIDCodec{}.PlanEncode(nil, pgtype.UUIDOID, pgtype.TextFormatCode, u)
	}
	return c
}

func (uuidCodec) Kind() executor.Kind { return executor.KindBytes }

func (c uuidCodec) Decode(raw []byte) (executor.Value, error) {
	if c.binary {
		if len(raw) != 16 {
			return executor.Value{}, errBinary("uuid", raw)
		}
		return executor.Bytes(raw), nil
	}
	u := new(pgtype.UUID)
	if err := c.scan.Scan(raw, u); err != nil {
		return executor.Value{}, textErr("uuid", raw, err)
	}
	return executor.Bytes(u.Bytes[:]), nil
}

func (c uuidCodec) Append(buf []byte, v executor.Value) ([]byte, error) {
	if v.Kind() != executor.KindBytes || len(v.Bytes()) != 16 {
		return nil, errKind("uuid", v)
	}
	if c.binary {
		return append(buf, v.Bytes()...), nil
	}
	u := pgtype.UUID{Valid: true}
	copy(u.Bytes[:], v.Bytes())
	return c.encode.Encode(u, buf)
}

// byteaCodec: bytea. Text input in either bytea_output form (pgtype);
// text output in hex.
type byteaCodec struct {
	binary bool
	scan   pgtype.ScanPlan
}

func newByteaCodec(bin bool) byteaCodec {
	c := byteaCodec{binary: bin}
	if !bin {
		var b []byte
		c.scan = pgtype.ByteaCodec{}.PlanScan(nil, pgtype.ByteaOID, pgtype.TextFormatCode, &b)
	}
	return c
}

func (byteaCodec) Kind() executor.Kind { return executor.KindBytes }

func (c byteaCodec) Decode(raw []byte) (executor.Value, error) {
	if c.binary {
		return executor.Bytes(raw), nil
	}
	var b []byte
	if err := c.scan.Scan(raw, &b); err != nil {
		return executor.Value{}, textErr("bytea", raw, err)
	}
	if b == nil {
		b = []byte{}
	}
	return executor.Bytes(b), nil
}

func (c byteaCodec) Append(buf []byte, v executor.Value) ([]byte, error) {
	if v.Kind() != executor.KindBytes {
		return nil, errKind("bytea", v)
	}
	if c.binary {
		return append(buf, v.Bytes()...), nil
	}
	return appendHexBytea(buf, v.Bytes()), nil
}
