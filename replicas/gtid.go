package replicas

import (
	"fmt"
	"strconv"
	"strings"
)

// ParseGTID parses one MariaDB global transaction id, "domain-server-seq"
// (what @@last_gtid and session tracking of last_gtid give), as a
// Position. "" is the zero Position: a session that has not committed
// anything yet has no requirement.
func ParseGTID(s string) (Position, error) {
	s = strings.TrimSpace(s)
	if s == "" {
		return Position{}, nil
	}
	d, rest, ok1 := strings.Cut(s, "-")
	sv, sq, ok2 := strings.Cut(rest, "-")
	if !ok1 || !ok2 {
		return Position{}, fmt.Errorf("replicas: GTID %q: want domain-server-seq", s)
	}
	// ParseUint refuses signs and spaces, so "0--1-2" and "0- 1-2" fail.
	domain, err1 := strconv.ParseUint(d, 10, 32)
	server, err2 := strconv.ParseUint(sv, 10, 32)
	seq, err3 := strconv.ParseUint(sq, 10, 64)
	if err1 != nil || err2 != nil || err3 != nil {
		return Position{}, fmt.Errorf("replicas: GTID %q: want domain-server-seq, decimal numbers of 32, 32 and 64 bits", s)
	}
	return GTID(uint32(domain), uint32(server), seq), nil
}

// ParseGTIDList parses a MariaDB GTID position, a comma-separated list of
// GTIDs with at most one per replication domain ("0-1-42,1-2-7", as
// @@gtid_slave_pos gives it), into what a replica has replayed, in the
// list's order. The empty list is a replica that has replayed nothing.
// Sequence number 0 (nothing in that domain) is left out.
func ParseGTIDList(s string) (Replayed, error) {
	s = strings.TrimSpace(s)
	if s == "" {
		return nil, nil
	}
	r := make(Replayed, 0, strings.Count(s, ",")+1)
	for part := range strings.SplitSeq(s, ",") {
		p, err := ParseGTID(part)
		if err != nil {
			return nil, fmt.Errorf("replicas: GTID list %q: %w", s, err)
		}
		if strings.TrimSpace(part) == "" {
			return nil, fmt.Errorf("replicas: GTID list %q: empty element", s)
		}
		if p.IsZero() {
			continue
		}
		for _, q := range r {
			if q.domain == p.domain {
				// Two positions in one domain: Covers would take the
				// newer, but the server never says this, so the text is
				// not what it seems.
				return nil, fmt.Errorf("replicas: GTID list %q: domain %d twice", s, p.domain)
			}
		}
		r = append(r, p)
	}
	return r, nil
}
