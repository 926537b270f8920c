package replicas

import "testing"

func TestParseLSN(t *testing.T) {
	for _, tc := range []struct {
		in   string
		want uint64
	}{
		{"0/0", 0}, {"0/1", 1}, {"16/B374D848", 0x16_B374D848}, {"FFFFFFFF/FFFFFFFF", 1<<64 - 1},
	} {
		p, err := ParseLSN(tc.in)
		if err != nil || p.LSN() != tc.want {
			t.Errorf("ParseLSN(%q) = %v, %v; want %X", tc.in, p, err, tc.want)
		}
		if tc.want != 0 && p.String() != tc.in {
			t.Errorf("ParseLSN(%q).String() = %q", tc.in, p.String())
		}
	}
	for _, bad := range []string{"", "16", "16/", "/1", "G/1", "1/100000000", "-1/2"} {
		if _, err := ParseLSN(bad); err == nil {
			t.Errorf("ParseLSN(%q) succeeded", bad)
		}
	}
}

func TestCovers(t *testing.T) {
	a, b := LSN(100), LSN(200)
	g1, g2 := GTID(0, 1, 7), GTID(1, 1, 3)
	for _, tc := range []struct {
		r    Replayed
		q    Position
		want bool
	}{
		{nil, Position{}, true},
		{nil, a, false},
		{Replayed{a}, Position{}, true},
		{Replayed{b}, a, true},
		{Replayed{a}, a, true},
		{Replayed{a}, b, false},
		{Replayed{a}, g1, false}, // kinds never compare
		{Replayed{GTID(0, 2, 9)}, g1, true},
		{Replayed{GTID(0, 2, 6)}, g1, false},
		{Replayed{GTID(0, 2, 9)}, g2, false}, // no position in domain 1
		{Replayed{GTID(0, 2, 9), GTID(1, 1, 3)}, g2, true},
	} {
		if got := tc.r.Covers(tc.q); got != tc.want {
			t.Errorf("%v covers %v = %v, want %v", tc.r, tc.q, got, tc.want)
		}
	}
	if s := (Replayed{GTID(0, 1, 7), GTID(1, 1, 3)}).String(); s != "0-1-7,1-1-3" {
		t.Errorf("String = %q", s)
	}
}
