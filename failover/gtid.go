package failover

import (
	"fmt"
	"slices"
	"strconv"
	"strings"
)

// gtidSet is a MariaDB GTID position: per replication domain, the sequence
// number of the last transaction held. With gtid_strict_mode (on in every
// shard) sequence numbers only grow within a domain, whichever server
// wrote them, so a position holds another when it is at least as far in
// every domain of the other.
type gtidSet map[uint32]uint64

// parseGTIDSet parses "0-1-42,1-2-7" (@@gtid_slave_pos, Gtid_IO_Pos, …).
// The empty string is the empty (non-nil) set.
func parseGTIDSet(s string) (gtidSet, error) {
	out := gtidSet{}
	s = strings.TrimSpace(s)
	if s == "" {
		return out, nil
	}
	for part := range strings.SplitSeq(s, ",") {
		f := strings.Split(strings.TrimSpace(part), "-")
		if len(f) != 3 {
			return nil, fmt.Errorf("GTID position %q: %q is not domain-server-seq", s, part)
		}
		d, err1 := strconv.ParseUint(f[0], 10, 32)
		_, err2 := strconv.ParseUint(f[1], 10, 32)
		seq, err3 := strconv.ParseUint(f[2], 10, 64)
		if err1 != nil || err2 != nil || err3 != nil {
			return nil, fmt.Errorf("GTID position %q: %q is not domain-server-seq", s, part)
		}
		out.add(uint32(d), seq)
	}
	return out, nil
}

func (g gtidSet) add(domain uint32, seq uint64) {
	if seq > g[domain] {
		g[domain] = seq
	}
}

// merge returns the furthest of both in every domain.
func (g gtidSet) merge(o gtidSet) gtidSet {
	out := gtidSet{}
	for d, s := range g {
		out.add(d, s)
	}
	for d, s := range o {
		out.add(d, s)
	}
	return out
}

// covers reports whether g holds every transaction o does.
func (g gtidSet) covers(o gtidSet) bool {
	for d, s := range o {
		if g[d] < s {
			return false
		}
	}
	return true
}

func (g gtidSet) String() string {
	if len(g) == 0 {
		return "(empty)"
	}
	ds := make([]uint32, 0, len(g))
	for d := range g {
		ds = append(ds, d)
	}
	slices.Sort(ds)
	parts := make([]string, len(ds))
	for i, d := range ds {
		parts[i] = fmt.Sprintf("%d-*-%d", d, g[d])
	}
	return strings.Join(parts, ",")
}

// errantGTIDs lists the GTIDs of a replica's gtid_binlog_pos (the last
// transaction it binlogged, per domain) that the replica wrote itself
// (server id own) beyond what it applied from its primary (applied, its
// gtid_slave_pos): transactions written on the replica (a maintenance
// script, an account passing read_only). Promoting it would replicate them
// to every node. Only its own server id counts: with log_slave_updates a
// replicated transaction is binlogged under its origin's GTID a moment
// before gtid_slave_pos shows it, so under load the binlog is often a few
// transactions ahead of the applied position without anything errant (a
// planned switchover's test saw exactly that). "" when none.
func errantGTIDs(binlogPos string, applied gtidSet, own uint32) (string, error) {
	var errant []string
	for part := range strings.SplitSeq(strings.TrimSpace(binlogPos), ",") {
		part = strings.TrimSpace(part)
		if part == "" {
			continue
		}
		f := strings.Split(part, "-")
		if len(f) != 3 {
			return "", fmt.Errorf("GTID position %q: %q is not domain-server-seq", binlogPos, part)
		}
		d, err1 := strconv.ParseUint(f[0], 10, 32)
		server, err3 := strconv.ParseUint(f[1], 10, 32)
		seq, err2 := strconv.ParseUint(f[2], 10, 64)
		if err1 != nil || err2 != nil || err3 != nil {
			return "", fmt.Errorf("GTID position %q: %q is not domain-server-seq", binlogPos, part)
		}
		if s, ok := applied[uint32(d)]; uint32(server) == own && (!ok || seq > s) {
			errant = append(errant, part)
		}
	}
	return strings.Join(errant, ","), nil
}

// furthestGTIDs merges GTID positions into one MASTER_GTID_WAIT accepts:
// per domain, the GTID (domain-server-seq, as written) with the highest
// sequence number. "" when there is none.
func furthestGTIDs(positions ...string) (string, error) {
	best := map[uint32]string{}
	seqs := gtidSet{}
	for _, pos := range positions {
		for part := range strings.SplitSeq(strings.TrimSpace(pos), ",") {
			part = strings.TrimSpace(part)
			if part == "" {
				continue
			}
			g, err := parseGTIDSet(part)
			if err != nil {
				return "", err
			}
			for d, s := range g {
				if _, ok := best[d]; !ok || s > seqs[d] {
					best[d], seqs[d] = part, s
				}
			}
		}
	}
	ds := make([]uint32, 0, len(best))
	for d := range best {
		ds = append(ds, d)
	}
	slices.Sort(ds)
	out := make([]string, len(ds))
	for i, d := range ds {
		out[i] = best[d]
	}
	return strings.Join(out, ","), nil
}
