package replicas

import "testing"

func TestParseGTID(t *testing.T) {
	for _, tc := range []struct {
		in   string
		want Position
	}{
		{"", Position{}},
		{"0-1-42", GTID(0, 1, 42)},
		{" 1-2-7\n", GTID(1, 2, 7)},
		{"4294967295-4294967295-18446744073709551615", GTID(1<<32-1, 1<<32-1, 1<<64-1)},
		{"0-1-0", Position{}},
	} {
		p, err := ParseGTID(tc.in)
		if err != nil || p != tc.want {
			t.Errorf("ParseGTID(%q) = %v, %v; want %v", tc.in, p, err, tc.want)
		}
	}
	for _, bad := range []string{"0-1", "0-1-2-3", "a-1-2", "0--1-2", "0-+1-2", "4294967296-1-2", "0-4294967296-2",
		"0-1-18446744073709551616", "0-1-", "-1-2", "0- 1-2", "0-1-2,1-1-3"} {
		if p, err := ParseGTID(bad); err == nil {
			t.Errorf("ParseGTID(%q) = %v, want an error", bad, p)
		}
	}
}

func TestParseGTIDList(t *testing.T) {
	for _, tc := range []struct {
		in   string
		want string // Replayed.String()
	}{
		{"", "none"},
		{"0-1-42", "0-1-42"},
		{"0-1-42,1-2-7", "0-1-42,1-2-7"},
		{"0-1-42,\n1-2-7", "0-1-42,1-2-7"}, // mariadb wraps long lists
		{"1-2-7,0-1-42", "1-2-7,0-1-42"},
		{"0-1-0,1-2-7", "1-2-7"},
	} {
		r, err := ParseGTIDList(tc.in)
		if err != nil || r.String() != tc.want {
			t.Errorf("ParseGTIDList(%q) = %v, %v; want %s", tc.in, r, err, tc.want)
		}
	}
	for _, bad := range []string{"0-1-42,", ",0-1-42", "0-1-42,,1-2-7", "0-1-42,0-2-43", "0-1-42;1-2-7", "x"} {
		if r, err := ParseGTIDList(bad); err == nil {
			t.Errorf("ParseGTIDList(%q) = %v, want an error", bad, r)
		}
	}

	// What the read path asks: does the replica's list cover a commit's
	// GTID (from @@last_gtid)?
	r, err := ParseGTIDList("0-1-42,1-2-7")
	if err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		gtid string
		want bool
	}{
		{"0-1-42", true}, {"0-1-41", true}, {"0-1-43", false},
		{"0-3-40", true}, // the server id takes no part (gtid_strict_mode)
		{"1-2-8", false}, {"2-1-1", false}, {"", true},
	} {
		p, err := ParseGTID(tc.gtid)
		if err != nil {
			t.Fatal(err)
		}
		if got := r.Covers(p); got != tc.want {
			t.Errorf("%v covers %q = %v, want %v", r, tc.gtid, got, tc.want)
		}
	}
}

// Whatever ParseGTIDList accepts prints back to a list it parses to the
// same positions; it never panics.
func FuzzParseGTIDList(f *testing.F) {
	for _, s := range []string{"", "0-1-42", "0-1-42,1-2-7", "0-1-42,\n1-2-7", "0-1-0", "4294967295-1-18446744073709551615", "0-1-42,0-2-1", "x,"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		r, err := ParseGTIDList(s)
		if err != nil {
			return
		}
		again, err := ParseGTIDList(r.String())
		if len(r) == 0 {
			if r.String() != "none" {
				t.Fatalf("%q: empty list prints %q", s, r.String())
			}
			return
		}
		if err != nil || len(again) != len(r) {
			t.Fatalf("%q parsed to %v, which parses to %v, %v", s, r, again, err)
		}
		for i := range r {
			if r[i] != again[i] || r[i].kind != positionGTID {
				t.Fatalf("%q: position %d is %v, then %v", s, i, r[i], again[i])
			}
		}
	})
}
