package failover

import "testing"

// A replica's binlog beyond what it applied from its primary holds its own
// writes: errant GTIDs.
func TestErrantGTIDs(t *testing.T) {
	for _, c := range []struct {
		binlog, applied, want string
	}{
		{"0-1-20", "0-1-20", ""},
		{"", "0-1-20", ""},
		{"0-2-21", "0-1-20", "0-2-21"},              // a write on the replica (server 2)
		{"0-1-20,1-2-3", "0-1-20", "1-2-3"},         // in a domain the primary never wrote
		{"0-1-15", "0-1-20", ""},                    // a former primary's own old writes, replicated past
		{"0-1-20,1-3-9", "0-1-20,1-3-9", ""},        // two domains, all replicated
		{"0-2-21,1-3-10", "0-1-20,1-3-9", "0-2-21"}, // 1-3-10: replicated, not yet in gtid_slave_pos
		{"0-1-25", "0-1-20", ""},                    // the primary's, binlogged a moment before gtid_slave_pos shows it
	} {
		applied, err := parseGTIDSet(c.applied)
		if err != nil {
			t.Fatal(err)
		}
		got, err := errantGTIDs(c.binlog, applied, 2) // the replica is server 2
		if err != nil || got != c.want {
			t.Errorf("errantGTIDs(%q, %q) = %q, %v; want %q", c.binlog, c.applied, got, err, c.want)
		}
	}
	if _, err := errantGTIDs("0-1", gtidSet{}, 2); err == nil {
		t.Error("errantGTIDs of a malformed position: no error")
	}
}

// The furthest of several replicas' positions, per domain, as
// MASTER_GTID_WAIT takes it.
func TestFurthestGTIDs(t *testing.T) {
	for _, c := range []struct {
		in   []string
		want string
	}{
		{nil, ""},
		{[]string{"", ""}, ""},
		{[]string{"0-1-20", "0-1-22"}, "0-1-22"},
		{[]string{"0-1-22", "0-2-21"}, "0-1-22"},
		{[]string{"0-1-20,1-3-9", "1-3-12", "0-2-21"}, "0-2-21,1-3-12"},
	} {
		got, err := furthestGTIDs(c.in...)
		if err != nil || got != c.want {
			t.Errorf("furthestGTIDs(%q) = %q, %v; want %q", c.in, got, err, c.want)
		}
	}
	if _, err := furthestGTIDs("0-1"); err == nil {
		t.Error("furthestGTIDs of a malformed position: no error")
	}
}
