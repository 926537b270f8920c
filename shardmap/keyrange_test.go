package shardmap

import (
	"strings"
	"testing"
)

func TestParseFormatKeyRange(t *testing.T) {
	cases := []struct {
		in, out    string
		start, end KeyspaceID
	}{
		{"-", "-", 0, 0},
		{"0", "-", 0, 0},
		{"-80", "-80", 0, 0x80 << 56},
		{"80-", "80-", 0x80 << 56, 0},
		{"40-80", "40-80", 0x40 << 56, 0x80 << 56},
		{"4000-8000", "40-80", 0x40 << 56, 0x80 << 56},
		{"c0-", "c0-", 0xc0 << 56, 0},
		{"C0-", "c0-", 0xc0 << 56, 0},
		{"0102030405060708-", "0102030405060708-", 0x0102030405060708, 0},
		{"-00ff", "-00ff", 0, 0x00ff << 48},
	}
	for _, c := range cases {
		r, err := ParseKeyRange(c.in)
		if err != nil {
			t.Fatalf("%q: %v", c.in, err)
		}
		if r.Start != c.start || r.End != c.end {
			t.Errorf("%q: got [%x,%x) want [%x,%x)", c.in, r.Start, r.End, c.start, c.end)
		}
		if r.String() != c.out {
			t.Errorf("%q: formats as %q, want %q", c.in, r.String(), c.out)
		}
	}
}

func TestParseKeyRangeErrors(t *testing.T) {
	for _, in := range []string{"", "80", "x-", "8-", "80-40", "40-40", "-00", "010203040506070809-", "80--", "zz-"} {
		if _, err := ParseKeyRange(in); err == nil {
			t.Errorf("%q: parsed, want an error", in)
		}
	}
}

func TestContains(t *testing.T) {
	r, _ := ParseKeyRange("40-80")
	for id, want := range map[KeyspaceID]bool{
		0: false, 0x3fffffffffffffff: false, 0x40 << 56: true, 0x7fffffffffffffff: true, 0x80 << 56: false,
	} {
		if r.Contains(id) != want {
			t.Errorf("Contains(%x) = %v", id, !want)
		}
	}
	top, _ := ParseKeyRange("80-")
	if !top.Contains(^KeyspaceID(0)) || top.Contains(0x7f<<56) {
		t.Error("unbounded end")
	}
	if !FullRange.Contains(0) || !FullRange.Contains(^KeyspaceID(0)) {
		t.Error("full range")
	}
}

func TestIntersect(t *testing.T) {
	kr := func(s string) KeyRange {
		r, err := ParseKeyRange(s)
		if err != nil {
			t.Fatal(err)
		}
		return r
	}
	cases := []struct{ a, b, want string }{
		{"-80", "40-c0", "40-80"},
		{"-", "c0-", "c0-"},
		{"80-", "c0-", "c0-"},
		{"-80", "80-", ""},
		{"-40", "c0-", ""},
		{"-", "-", "-"},
	}
	for _, c := range cases {
		got, ok := kr(c.a).Intersect(kr(c.b))
		if c.want == "" {
			if ok {
				t.Errorf("%s ∩ %s = %s, want none", c.a, c.b, got)
			}
			continue
		}
		if !ok || got.String() != c.want {
			t.Errorf("%s ∩ %s = %s (%v), want %s", c.a, c.b, got, ok, c.want)
		}
		if back, _ := kr(c.b).Intersect(kr(c.a)); back != got {
			t.Errorf("intersection not symmetric for %s, %s", c.a, c.b)
		}
	}
}

func TestSplit(t *testing.T) {
	cases := []struct {
		in   string
		n    int
		want string
	}{
		{"-", 2, "-80 80-"},
		{"-", 4, "-40 40-80 80-c0 c0-"},
		{"80-", 2, "80-c0 c0-"},
		{"40-80", 4, "40-50 50-60 60-70 70-80"},
		{"-", 1, "-"},
		{"-", 3, "-5555555555555555 5555555555555555-aaaaaaaaaaaaaaaa aaaaaaaaaaaaaaaa-"},
	}
	for _, c := range cases {
		r, _ := ParseKeyRange(c.in)
		parts, err := r.Split(c.n)
		if err != nil {
			t.Fatalf("%s/%d: %v", c.in, c.n, err)
		}
		var got []string
		var ranges []KeyRange
		for _, p := range parts {
			got = append(got, p.String())
			ranges = append(ranges, p)
		}
		if strings.Join(got, " ") != c.want {
			t.Errorf("%s split %d = %v, want %s", c.in, c.n, got, c.want)
		}
		if c.in == "-" {
			if err := CheckTiling(ranges); err != nil {
				t.Errorf("split of the full range does not tile: %v", err)
			}
		}
	}
	tiny := KeyRange{Start: 5, End: 6}
	if _, err := tiny.Split(2); err == nil {
		t.Error("a one-ID range split in two must fail")
	}
	if _, err := FullRange.Split(0); err == nil {
		t.Error("split into 0 must fail")
	}
}

func TestCheckTiling(t *testing.T) {
	parse := func(list string) []KeyRange {
		var out []KeyRange
		for _, s := range strings.Fields(list) {
			r, err := ParseKeyRange(s)
			if err != nil {
				t.Fatal(err)
			}
			out = append(out, r)
		}
		return out
	}
	good := []string{"-", "-80 80-", "80- -80", "-40 40-80 80-c0 c0-", "c0- -40 80-c0 40-80"}
	for _, g := range good {
		if err := CheckTiling(parse(g)); err != nil {
			t.Errorf("%q: %v", g, err)
		}
	}
	bad := map[string]string{
		"-80":         "gap",
		"80-":         "gap",
		"-40 80-":     "gap",
		"-80 40-":     "overlap",
		"- 80-":       "overlap",
		"-80 -80 80-": "overlap",
		"":            "no shards",
	}
	for list, want := range bad {
		err := CheckTiling(parse(list))
		if err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("%q: got %v, want %s", list, err, want)
		}
	}
}
