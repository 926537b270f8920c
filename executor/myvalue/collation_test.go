package myvalue

import (
	"bytes"
	"errors"
	"strings"
	"testing"
	"unicode/utf8"

	"vitess.io/vitess/go/mysql/collations"
	"vitess.io/vitess/go/mysql/collations/charset"
	"vitess.io/vitess/go/mysql/collations/colldata"

	"github.com/shardgate/shardgate/executor"
	"github.com/shardgate/shardgate/internal/sqlerr"
)

// textCol is a VARCHAR of collation id sent in utf8mb4 (45).
func textCol(id uint32) executor.Column {
	return WithCollation(Column(TypeVarString, false, 45, 0), id)
}

func key(t *testing.T, cd executor.Codec, s string) executor.Value {
	t.Helper()
	v, err := cd.Decode([]byte(s))
	if err != nil {
		t.Fatalf("%q: %v", s, err)
	}
	return v
}

func sign(n int) int {
	switch {
	case n < 0:
		return -1
	case n > 0:
		return 1
	}
	return 0
}

// TestTextOrder: MariaDB's answers for its PAD SPACE collations (checked
// on MariaDB 10.11: SELECT 'a' = 'a ', 'a\t' < 'a', … under each).
func TestTextOrder(t *testing.T) {
	cases := []struct {
		id   uint32
		a, b string
		want int
	}{
		{45, "a", "A", 0}, {45, "a", "a  ", 0}, {45, "a\t", "a", -1}, {45, "a", "B", -1},
		{45, "Zoë", "zoe", 0}, {45, "", " ", 0}, {45, "a b", "a", 1}, {45, "a\x00", "a", -1},
		{45, "😀", "😁", 0}, // general_ci: every character beyond the BMP weighs as U+FFFD
		{46, "a", "A", 1}, {46, "B", "a", -1}, {46, "a", "a ", 0}, {46, "a\t", "a", -1}, {46, "a\t", "a ", -1},
		{46, "😀", "😁", -1}, {46, "", "\t", 1},
		{8, "a", "A", 0}, {8, "é", "e", 0}, {8, "a ", "a", 0}, // latin1_swedish_ci, sent as utf8mb4
		{47, "a", "A", 1}, {47, "a ", "a", 0},
		// utf8mb4_unicode_ci (named by COLLATION(x)): control characters
		// weigh nothing, ß expands to ss.
		{224, "a\x00", "a", 0}, {224, "ß", "ss", 0}, {224, "a\x1f", "a ", 0}, {224, "a\t", "a", -1},
		{224, "a", "a  ", 0}, {224, "😀", "😁", 0}, {224, "a", "A", 0}, {224, "a", "B", -1}, {224, "é", "e", 0},
	}
	for _, c := range cases {
		cd := codec(t, WithNamedCollation(Column(TypeVarString, false, 45, 0), c.id))
		got := sign(executor.Compare(key(t, cd, c.a), key(t, cd, c.b)))
		if got != c.want {
			t.Errorf("collation %d: %q vs %q = %d, want %d", c.id, c.a, c.b, got, c.want)
		}
	}
}

func padTo(s string, n int) []byte {
	return []byte(s + strings.Repeat(" ", n-utf8.RuneCountInString(s)))
}

// TestTextKeyAgreesWithCollate: for every pair of a set of strings, the
// keys compare as vitess' Collate does on both padded with spaces to one
// length (PAD SPACE), and are equal exactly where it says equal.
func TestTextKeyAgreesWithCollate(t *testing.T) {
	strs := []string{"", " ", "  ", "\t", "a", "A", "a ", "a  ", "a\t", "a\x00", "a\x1f", "a!", "ab", "a b", "a  b",
		"b", "B", "é", "E", "e", "ß", "ss", "Zoë", "zoe", "北京", "東京", "😀", "ñandú", "x ", "x\t "}
	for _, id := range []uint32{45, 46, 33, 83, 8, 47, 48, 5, 11} {
		coll := colldata.Lookup(collations.ID(id))
		cd := codec(t, WithNamedCollation(Column(TypeVarString, false, 45, 0), id))
		for _, a := range strs {
			for _, b := range strs {
				// PAD SPACE: both padded to one length (one weight per
				// character in these collations) compare as Collate does.
				n := max(utf8.RuneCountInString(a), utf8.RuneCountInString(b)) + 1
				ca, err1 := charset.Convert(nil, coll.Charset(), padTo(a, n), charset.Charset_utf8mb4{})
				cb, err2 := charset.Convert(nil, coll.Charset(), padTo(b, n), charset.Charset_utf8mb4{})
				if err1 != nil || err2 != nil {
					continue // not in the character set
				}
				want := sign(coll.Collate(ca, cb, false))
				got := sign(bytes.Compare(key(t, cd, a).Bytes(), key(t, cd, b).Bytes()))
				if got != want {
					t.Errorf("%s: %q vs %q: key %d, collate %d", coll.Name(), a, b, got, want)
				}
			}
		}
	}
}

// TestTextCollationRefused: a text column needs its collation; one the
// proxy cannot tell or does not know is 1235, naming it.
func TestTextCollationRefused(t *testing.T) {
	if _, err := New().Codec(Column(TypeVarString, false, 45, 0)); !errors.Is(err, ErrCollationNeeded) {
		t.Errorf("no collation: %v", err)
	}
	for id, name := range map[uint32]string{224: "utf8mb4_unicode_ci", 1069: "collation id 1069", 1070: "collation id 1070", 192: "utf8mb3_unicode_ci", 232: "utf8mb4_swedish_ci"} {
		_, err := New().Codec(textCol(id))
		var e *sqlerr.Error
		if !errors.As(err, &e) || e.Number != 1235 || !bytes.Contains([]byte(e.Message), []byte(name)) {
			t.Errorf("collation %d: got %v, want 1235 naming %s", id, err, name)
		}
	}
	// Named by COLLATION(x): a UCA collation is known, MariaDB's own are not.
	for name, want := range map[string]uint32{"utf8mb4_unicode_ci": 224, "utf8mb4_general_ci": 45, "latin1_swedish_ci": 8} {
		id, err := CollationByName(name)
		if err != nil || id != want || !AmbiguousCollation(224) || AmbiguousCollation(45) {
			t.Errorf("%s: %d %v, want %d", name, id, err, want)
		}
	}
	for _, name := range []string{"utf8mb4_uca1400_ai_ci", "utf8mb4_general_nopad_ci", "utf8mb4_nopad_bin"} {
		_, err := CollationByName(name)
		var e *sqlerr.Error
		if !errors.As(err, &e) || e.Number != 1235 || !strings.Contains(e.Message, name) {
			t.Errorf("%s: got %v, want 1235 naming it", name, err)
		}
	}
	if cd := codec(t, WithNamedCollation(Column(TypeVarString, false, 45, 0), 224)); executor.Compare(key(t, cd, "ß"), key(t, cd, "ss")) != 0 {
		t.Error("utf8mb4_unicode_ci: 'ß' is not 'ss'")
	}
	// A text column whose own collation is binary compares by bytes, NO PAD.
	if cd := codec(t, textCol(BinaryCharset)); executor.Compare(key(t, cd, "a"), key(t, cd, "a ")) >= 0 {
		t.Error("binary: 'a' is not below 'a '")
	}
	// The mark keeps the result's character set.
	if c := textCol(46); Charset(c) != 45 {
		t.Errorf("charset %d", Charset(c))
	}
	if id, ok := Collation(textCol(46)); !ok || id != 46 {
		t.Errorf("collation %d %v", id, ok)
	}
}
