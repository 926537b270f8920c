package replicas

import (
	"fmt"
	"strconv"
	"strings"
)

// Position is one point in a shard's replication stream: a Postgres WAL
// location (LSN), or a MariaDB GTID (domain, server, sequence number). A
// session learns the Position of its commits; a replica may serve the
// session's reads once its replay state covers that Position. The zero
// Position is "no requirement": every replica covers it.
//
// Position is a small comparable value so that the read path passes it
// around without allocating.
type Position struct {
	kind   positionKind
	domain uint32
	server uint32
	seq    uint64
}

type positionKind uint8

const (
	positionNone positionKind = iota
	positionLSN
	positionGTID
)

// LSN is the Postgres WAL location lsn as a Position. LSN(0) is the zero
// Position (Postgres never hands out location 0/0).
func LSN(lsn uint64) Position {
	if lsn == 0 {
		return Position{}
	}
	return Position{kind: positionLSN, seq: lsn}
}

// ParseLSN parses Postgres' text form of a WAL location, "16/B374D848".
func ParseLSN(s string) (Position, error) {
	hi, lo, ok := strings.Cut(s, "/")
	if !ok {
		return Position{}, fmt.Errorf("replicas: LSN %q: want two hex numbers separated by '/'", s)
	}
	h, err1 := strconv.ParseUint(hi, 16, 32)
	l, err2 := strconv.ParseUint(lo, 16, 32)
	if err1 != nil || err2 != nil {
		return Position{}, fmt.Errorf("replicas: LSN %q: want two hex numbers separated by '/'", s)
	}
	return LSN(h<<32 | l), nil
}

// GTID is a MariaDB global transaction id "domain-server-seq" as a
// Position. Within a domain, sequence numbers grow (gtid_strict_mode), so
// the server id does not take part in comparisons.
func GTID(domain, server uint32, seq uint64) Position {
	if seq == 0 {
		return Position{}
	}
	return Position{kind: positionGTID, domain: domain, server: server, seq: seq}
}

// IsZero reports whether p is the zero Position (no requirement).
func (p Position) IsZero() bool { return p.kind == positionNone }

// LSN returns the WAL location of a Postgres Position, else 0.
func (p Position) LSN() uint64 {
	if p.kind != positionLSN {
		return 0
	}
	return p.seq
}

// Covers reports whether a replica that has replayed up to p has replayed
// q: q is zero, or both are of the same kind (and, for GTIDs, domain) and p
// is at or past q.
func (p Position) Covers(q Position) bool {
	if q.kind == positionNone {
		return true
	}
	return p.kind == q.kind && p.domain == q.domain && p.seq >= q.seq
}

func (p Position) String() string {
	switch p.kind {
	case positionLSN:
		return fmt.Sprintf("%X/%X", p.seq>>32, uint32(p.seq))
	case positionGTID:
		return fmt.Sprintf("%d-%d-%d", p.domain, p.server, p.seq)
	}
	return "none"
}

// Replayed is what a replica has replayed: one Position for Postgres, one
// per replication domain for MariaDB (gtid_slave_pos). It is never modified
// once it is published.
type Replayed []Position

// Covers reports whether one of r's positions covers q (see
// Position.Covers). Everything covers the zero Position.
func (r Replayed) Covers(q Position) bool {
	if q.IsZero() {
		return true
	}
	for _, p := range r {
		if p.Covers(q) {
			return true
		}
	}
	return false
}

func (r Replayed) String() string {
	if len(r) == 0 {
		return "none"
	}
	parts := make([]string, len(r))
	for i, p := range r {
		parts[i] = p.String()
	}
	return strings.Join(parts, ",")
}
