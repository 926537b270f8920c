package mysqlwire

import (
	"reflect"
	"testing"

	"github.com/shardgate/shardgate/shardmap"
)

// paramValue reads each binary-protocol type as the literal the text path
// writes in its place reads: integers of every width, signed and marked
// unsigned, as their number; plain strings as text; anything written
// otherwise (a hex literal for a backslash, a NUL or a binary string) or
// not an integer or a string is not keyed.
func TestParamValue(t *testing.T) {
	lenenc := func(s string) []byte { return append([]byte{byte(len(s))}, s...) }
	cases := []struct {
		name        string
		typ, flags  byte
		b           []byte
		want        shardmap.Value
		wantUnknown bool
	}{
		{"null", 6, 0, nil, shardmap.Null(), false},
		{"tiny -1", 1, 0, []byte{0xff}, shardmap.Int(-1), false},
		{"tiny unsigned 255", 1, paramUnsigned, []byte{0xff}, shardmap.Int(255), false},
		{"short -32768", 2, 0, []byte{0x00, 0x80}, shardmap.Int(-32768), false},
		{"short unsigned 65535", 2, paramUnsigned, []byte{0xff, 0xff}, shardmap.Int(65535), false},
		{"long -2147483648", 3, 0, []byte{0, 0, 0, 0x80}, shardmap.Int(-2147483648), false},
		{"long unsigned 4294967295", 3, paramUnsigned, []byte{0xff, 0xff, 0xff, 0xff}, shardmap.Int(4294967295), false},
		{"int24 as four bytes", 9, 0, []byte{1, 0, 0, 0}, shardmap.Int(1), false},
		{"longlong -1", 8, 0, []byte{0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff}, shardmap.Int(-1), false},
		{"longlong unsigned max int64", 8, paramUnsigned, []byte{0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x7f}, shardmap.Int(1<<63 - 1), false},
		{"longlong unsigned 2^64-1", 8, paramUnsigned, []byte{0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff}, shardmap.Numeric("18446744073709551615"), false},
		{"string", 254, 0, lenenc("42"), shardmap.TextBytes([]byte("42")), false},
		{"var_string", 253, 0, lenenc("héllo"), shardmap.TextBytes([]byte("héllo")), false},
		{"varchar", 15, 0, lenenc(""), shardmap.TextBytes([]byte{}), false},
		{"blob as text", 252, 0, lenenc("x"), shardmap.TextBytes([]byte("x")), false},
		{"binary string", 254, paramUnsigned, lenenc("x"), shardmap.Value{}, true},
		{"backslash", 254, 0, lenenc(`a\b`), shardmap.Value{}, true},
		{"nul", 254, 0, lenenc("a\x00"), shardmap.Value{}, true},
		{"string length past its bytes", 254, 0, []byte{5, 'a'}, shardmap.Value{}, true},
		{"short too short", 2, 0, []byte{1}, shardmap.Value{}, true},
		{"double", 5, 0, make([]byte, 8), shardmap.Value{}, true},
		{"float", 4, 0, make([]byte, 4), shardmap.Value{}, true},
		{"decimal", 246, 0, lenenc("1.5"), shardmap.Value{}, true},
		{"year", 13, 0, []byte{0xe8, 0x07}, shardmap.Value{}, true},
		{"datetime", 12, 0, []byte{0}, shardmap.Value{}, true},
	}
	for _, c := range cases {
		got, ok := paramValue(c.typ, c.flags, c.b)
		if ok == c.wantUnknown {
			t.Errorf("%s: keyed = %v, want %v", c.name, ok, !c.wantUnknown)
			continue
		}
		if ok && !reflect.DeepEqual(got, c.want) {
			t.Errorf("%s: %#v, want %#v", c.name, got, c.want)
		}
	}
}

func TestFirstWordBytes(t *testing.T) {
	for s, want := range map[string]bool{
		"SELECT 1": true, " \tselect\n1": true, "Select": true, "selectx": false, "sel": false,
		"/* c */ SELECT 1": false, "(SELECT 1)": false, "SELECT*": false, "": false,
	} {
		if got := firstWordBytes([]byte(s), "select"); got != want {
			t.Errorf("%q: %v, want %v", s, got, want)
		}
	}
}
