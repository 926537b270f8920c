package myvalue

import (
	"bytes"
	"encoding/binary"
	"errors"
	"math"
	"strconv"

	"vitess.io/vitess/go/mysql/collations"
	"vitess.io/vitess/go/mysql/collations/charset"
	"vitess.io/vitess/go/mysql/collations/colldata"

	"github.com/shardgate/shardgate/executor"
	"github.com/shardgate/shardgate/internal/sqlerr"
)

// Text keys. A column definition carries the result's character set
// (character_set_results), not the collation the column compares by; the
// session learns the collation by asking one shard for the statement's
// column definitions under character_set_results = NULL (MariaDB then
// sends each column's own collation id) and marks the column with
// WithCollation. A text column that is not marked has no codec:
// ErrCollationNeeded tells the session to ask.
//
// A marked column decodes to a sort key: bytes whose byte order is the
// collation's order, equal exactly where the collation says equal (PAD
// SPACE included). The merge compares and hashes only keys and writes the
// shard's own bytes, so no text codec ever encodes.

// ErrCollationNeeded is the error of Codec for a text column whose
// collation is not known yet (see WithCollation).
var ErrCollationNeeded = errors.New("the collation of a text column is needed")

// Bits of executor.Column.Modifier: the character set of the result in
// the low bits, and for a column marked by WithCollation the collation
// id above them.
const (
	charsetMask    = 1<<collationShift - 1
	collationShift = 11 // MariaDB's collation ids are below 2048
	collationMark  = 1 << 30
	collationNamed = 1 << 29 // the collation was named by COLLATION(x)
)

// WithCollation marks a text column with the collation id its values
// compare by.
func WithCollation(c executor.Column, id uint32) executor.Column {
	c.Modifier = int32(uint32(c.Modifier)&charsetMask | (id&charsetMask)<<collationShift | collationMark)
	return c
}

// WithNamedCollation marks a text column with the collation id of the
// name COLLATION(x) gave for it (CollationByName): the one way to tell a
// UCA collation from the MariaDB ones sent under its id.
func WithNamedCollation(c executor.Column, id uint32) executor.Column {
	c = WithCollation(c, id)
	c.Modifier |= collationNamed
	return c
}

// AmbiguousCollation reports whether MariaDB also sends collation id for
// other collations than the one vitess knows by it: its UCA 14.0.0 ones
// (utf8mb4_uca1400_ai_ci and every variant) arrive under the id of the UCA
// 4.0.0 collation of their character set and language (224,
// utf8mb4_unicode_ci, for utf8mb4). Such a column's collation must be
// asked by name (COLLATION(x)).
func AmbiguousCollation(id uint32) bool {
	_, uca := colldata.Lookup(collations.ID(id)).(*colldata.Collation_uca_legacy)
	return uca
}

// CollationByName is the id of a collation COLLATION(x) named, or a 1235
// error naming it where the proxy does not know it (MariaDB's UCA 14.0.0
// and NO PAD collations).
func CollationByName(name string) (uint32, error) {
	id := collations.MySQL8().LookupByName(name)
	if id == 0 || colldata.Lookup(id) == nil {
		return 0, sqlerr.New(sqlerr.FeatureNotSupported,
			"the proxy cannot sort, group, deduplicate or take min/max of text of collation %s across shards: the proxy does not know this collation", name).
			WithHint(collationHint)
	}
	return uint32(id), nil
}

// Collation is the collation id WithCollation gave c (false: none).
func Collation(c executor.Column) (uint32, bool) {
	m := uint32(c.Modifier)
	return m >> collationShift & charsetMask, m&collationMark != 0
}

// IsText reports whether c is a string of a character set (not binary).
func IsText(c executor.Column) bool {
	switch WireType(c) {
	case TypeVarchar, TypeVarString, TypeString, TypeTinyBlob, TypeMediumBlob, TypeLongBlob, TypeBlob:
		return Charset(c) != BinaryCharset
	}
	return false
}

// textCodec decodes text to its collation's sort key.
type textCodec struct {
	coll     colldata.Collation
	from     charset.Charset // the result's character set, where it is not the collation's
	padSpace bool            // always, for now: kept to say where NO PAD would differ
	space    []byte          // the weights of one space
}

func (textCodec) Kind() executor.Kind { return executor.KindBytes }

func (c textCodec) Decode(raw []byte) (executor.Value, error) {
	src := raw
	if c.from != nil {
		var err error
		if src, err = charset.Convert(nil, c.coll.Charset(), raw, c.from); err != nil {
			return executor.Value{}, sqlerr.New(sqlerr.FeatureNotSupported,
				"a shard sent text the proxy cannot convert to %s to compare it", c.coll.Name())
		}
	}
	w := c.coll.WeightString(nil, src, 0)
	if !c.padSpace {
		return executor.Bytes(w), nil
	}
	return executor.Bytes(padSpaceKey(nil, w, c.space)), nil
}

func (c textCodec) Append([]byte, executor.Value) ([]byte, error) {
	return nil, sqlerr.New(sqlerr.InternalError, "a text sort key of %s cannot be written back", c.coll.Name())
}

// padSpaceKey encodes the weights w of a string under a PAD SPACE
// collation, whose weights are each len(space) bytes, as bytes that
// compare as the string padded with spaces without end compares: 'a' =
// 'a  ', and 'a\t' < 'a' (a tab weighs less than the space it meets).
//
// w less its trailing space weights is a run of tokens: k spaces, then a
// weight x that is not a space. Two strings first differ at a token; a
// token (k, x) with x below a space sorts before any token with more
// spaces and before the end (where the other string has a space), one
// with x above a space after them. So a token is written as
//
//	x < space:  0x01, k (4 bytes, ascending), x
//	end:        0x02
//	x > space:  0x03, ^k (4 bytes, descending), x
//
// and each token has a fixed width within its class.
func padSpaceKey(dst, w, space []byte) []byte {
	p := len(space)
	for len(w) >= p && bytes.Equal(w[len(w)-p:], space) {
		w = w[:len(w)-p]
	}
	k := uint32(0)
	for len(w) >= p {
		x := w[:p]
		w = w[p:]
		c := bytes.Compare(x, space)
		if c == 0 {
			k++
			continue
		}
		if c < 0 {
			dst = append(dst, 0x01)
			dst = binary.BigEndian.AppendUint32(dst, k)
		} else {
			dst = append(dst, 0x03)
			dst = binary.BigEndian.AppendUint32(dst, math.MaxUint32-k)
		}
		dst = append(dst, x...)
		k = 0
	}
	// A ragged tail (no collation here has one) still decides ties.
	dst = append(dst, 0x02)
	return append(dst, w...)
}

// textCodec returns the codec of a text column (see WithCollation).
func textCodecOf(col executor.Column) (executor.Codec, error) {
	id, ok := Collation(col)
	if !ok {
		return nil, ErrCollationNeeded
	}
	coll := colldata.Lookup(collations.ID(id))
	switch coll.(type) {
	case *colldata.Collation_binary:
		return bytesCodec{}, nil
	case nil:
		return nil, refuseCollation(id, "the proxy does not know this collation")
	case *colldata.Collation_uca_legacy:
		if uint32(col.Modifier)&collationNamed == 0 {
			// See AmbiguousCollation: the id alone does not say which
			// order the column has.
			return nil, refuseCollation(id, "MariaDB reports its UCA 14.0.0 collations under this collation's id, so the proxy cannot tell which order the column has")
		}
	case *colldata.Collation_utf8mb4_uca_0900, *colldata.Collation_utf8mb4_0900_bin:
		return nil, refuseCollation(id, "a MySQL 8 collation a MariaDB shard should not have")
	}
	c := textCodec{coll: coll}
	if rc := colldata.Lookup(collations.ID(Charset(col))); rc == nil {
		return nil, refuseCollation(id, "the result's character set is unknown to the proxy")
	} else if rc.Charset().Name() != coll.Charset().Name() {
		c.from = rc.Charset()
	}
	sp, err := charset.Convert(nil, coll.Charset(), []byte(" "), charset.Charset_utf8mb4{})
	if err != nil {
		return nil, refuseCollation(id, "no space in its character set")
	}
	// Every collation of MariaDB's that vitess knows is PAD SPACE (its
	// NO PAD ones have ids of their own, 1024 and up); vitess' Collate
	// itself compares without padding, as strnncoll does.
	c.padSpace = true
	c.space = coll.WeightString(nil, sp, 0)
	if len(c.space) == 0 {
		return nil, refuseCollation(id, "a space weighs nothing in it")
	}
	return c, nil
}

func refuseCollation(id uint32, why string) error {
	name := collations.MySQL8().LookupName(collations.ID(id))
	if name == "" {
		name = "collation id " + strconv.FormatUint(uint64(id), 10)
	}
	return sqlerr.New(sqlerr.FeatureNotSupported,
		"the proxy cannot sort, group, deduplicate or take min/max of text of collation %s across shards: %s", name, why).
		WithHint(collationHint)
}

const collationHint = "Compare a binary string (CAST(x AS BINARY)) or text of a collation the proxy knows (utf8mb4_general_ci, utf8mb4_bin, utf8mb4_unicode_ci, latin1_swedish_ci, …), or give the sharding key."
