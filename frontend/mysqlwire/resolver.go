package mysqlwire

import (
	"context"
	"strings"
	"time"

	"vitess.io/vitess/go/mysql/sqlerror"

	"github.com/shardgate/shardgate/internal/sqlerr"
	"github.com/shardgate/shardgate/shardmap"
)

// The resolver finishes XA branches their owner left prepared (a proxy
// killed between the phases, a lost connection during the second phase):
// every interval it lists each MariaDB shard's prepared branches (XA
// RECOVER), and one of shardgate's ("sg:…:<anchor>") still prepared after
// a grace period is decided on its anchor shard: a 'commit' row there
// commits it; no row, and the resolver writes an 'abort' row, then rolls
// it back. The row's primary key is the fence: an owner that was only
// slow meets the 'abort' row when it writes its 'commit' row, and rolls
// back too (and takes a new name). The 'abort' row is deleted a day later
// only after the owner's name is fenced on that shard, so even an owner
// stalled for longer cannot commit its anchor's part alone. So the
// resolver is safe without leases; the grace period only spares
// transactions in flight that extra failure (a live owner's branch cannot
// be finished by another connection anyway: MariaDB answers XAER_NOTA
// until its connection ends). Every proxy runs one; two resolvers racing
// meet the same fence.

// resolveGrace is how long a branch must stay prepared before the
// resolver decides it: far longer than a live owner's second phase.
const resolveGrace = 2 * time.Second

// RunResolver runs the resolver until ctx ends (interval: Options.
// ResolveInterval, default 1s; negative: it returns at once).
func (s *Server) RunResolver(ctx context.Context) {
	interval := s.o.ResolveInterval
	if interval < 0 {
		return
	}
	if interval == 0 {
		interval = time.Second
	}
	seen := map[string]time.Time{}
	var cleaned time.Time
	t := time.NewTicker(interval)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
		clean := time.Since(cleaned) >= cleanEvery
		if clean {
			cleaned = time.Now()
		}
		seen = s.resolveOnce(ctx, seen, resolveGrace, clean)
	}
}

// Decision rows are deleted once nothing can need them: a 'commit' row
// when its branches are all committed (none prepared on any shard of the
// keyspace, checked by a complete scan) and it is 10 minutes old; an
// 'abort' row, the fence of its transaction against a stalled owner,
// after a day, once the owner's name is fenced (shardgate_2pc_fence: that
// owner can never decide commit on this shard again) for a minute — longer
// than any statement of its that read the fence table before.
const (
	cleanEvery  = time.Minute
	fenceOwners = `SET STATEMENT innodb_lock_wait_timeout=1, lock_wait_timeout=1 FOR INSERT IGNORE INTO shardgate_2pc_fence (owner) ` +
		`SELECT DISTINCT SUBSTRING_INDEX(SUBSTRING_INDEX(gid, ':', 2), ':', -1) FROM shardgate_2pc ` +
		`WHERE decision = 'abort' AND decided_at < NOW(6) - INTERVAL 1 DAY`
	cleanDecisions = `SET STATEMENT innodb_lock_wait_timeout=1, lock_wait_timeout=1 FOR DELETE FROM shardgate_2pc ` +
		`WHERE ((decision = 'commit' AND decided_at < NOW(6) - INTERVAL 10 MINUTE) OR ` +
		`(decided_at < NOW(6) - INTERVAL 1 DAY AND EXISTS (SELECT 1 FROM shardgate_2pc_fence f ` +
		`WHERE f.owner = SUBSTRING_INDEX(SUBSTRING_INDEX(gid, ':', 2), ':', -1) AND f.fenced_at < NOW(6) - INTERVAL 1 MINUTE)))`
)

// preparedBranch is one row of XA RECOVER.
type preparedBranch struct{ gtrid, bqual string }

func (b preparedBranch) id() string { return "'" + b.gtrid + "','" + b.bqual + "'" }

// resolveOnce scans every MariaDB shard once; seen maps the branches
// seen prepared before to when they were first seen, and the result is
// the map for the next scan.
func (s *Server) resolveOnce(ctx context.Context, seen map[string]time.Time, grace time.Duration, clean bool) map[string]time.Time {
	now := time.Now()
	next := map[string]time.Time{}
	for _, ks := range s.o.Snapshot().Keyspaces() {
		if ks.Engine() != shardmap.MySQL {
			continue
		}
		shards := ks.Shards()
		complete := true
		prepared := map[string]bool{}
		for _, sh := range shards {
			branches, err := s.recoverBranches(ctx, sh)
			if err != nil {
				complete = false
				continue // the shard is down: next time
			}
			for _, b := range branches {
				prepared[b.gtrid] = true
				key := logKey(sh) + "|" + b.gtrid + "|" + b.bqual
				first, ok := seen[key]
				if !ok {
					first = now
				}
				next[key] = first
				anchor, ok := parseGtrid(b.gtrid)
				if !ok || anchor >= len(shards) || !ofKeyspace(b.bqual, shards[anchor].Database) || now.Sub(first) < grace {
					continue // another keyspace's (XA ids are server-wide), or young
				}
				commit, err := s.decide(ctx, shards[anchor], b.gtrid)
				if err != nil {
					continue
				}
				if s.finish(ctx, sh, b, commit) == nil {
					delete(next, key)
				}
			}
		}
		if clean && complete {
			s.cleanDecisions(ctx, shards, prepared)
		}
	}
	return next
}

// cleanDecisions deletes the decision rows nothing needs any more, but
// never one of a branch seen prepared in this scan.
func (s *Server) cleanDecisions(ctx context.Context, shards []*shardmap.Shard, prepared map[string]bool) {
	text := cleanDecisions
	if len(prepared) > 0 {
		var ids []string
		for g := range prepared {
			ids = append(ids, "'"+g+"'")
		}
		text += " AND gid NOT IN (" + strings.Join(ids, ", ") + ")"
	}
	text += " LIMIT 10000"
	for _, sh := range shards {
		c, err := s.acquireClean(ctx, sh)
		if err != nil {
			continue
		}
		s.xa.ensureLog(sh, c)
		// Fences first: an 'abort' row goes only once its owner's name
		// has been fenced for a while.
		if _, _, err := c.Exec(fenceOwners, 0); err == nil {
			c.Exec(text, 0) //nolint:errcheck // best effort: next time
		}
		s.o.Conns.Release(c)
	}
}

// recoverBranches lists shardgate's prepared branches on sh.
func (s *Server) recoverBranches(ctx context.Context, sh *shardmap.Shard) ([]preparedBranch, error) {
	c, err := s.acquireClean(ctx, sh)
	if err != nil {
		return nil, err
	}
	defer s.o.Conns.Release(c)
	res, _, err := c.Exec("XA RECOVER", 100000)
	if err != nil {
		return nil, err
	}
	var out []preparedBranch
	for _, row := range res.Rows {
		if len(row) < 4 {
			continue
		}
		gl, err1 := row[1].ToInt64()
		bl, err2 := row[2].ToInt64()
		data := row[3].ToString()
		if err1 != nil || err2 != nil || gl < 0 || bl < 0 || int(gl+bl) > len(data) {
			continue
		}
		b := preparedBranch{gtrid: data[:gl], bqual: data[gl : gl+bl]}
		if !safeXID(b.gtrid) || !safeXID(b.bqual) {
			continue // not one of ours (and not quotable as is)
		}
		out = append(out, b)
	}
	return out, nil
}

// safeXID: only the characters shardgate's ids use, so the text can be
// quoted as it is.
func safeXID(s string) bool {
	for _, r := range s {
		switch {
		case r >= 'a' && r <= 'z', r >= 'A' && r <= 'Z', r >= '0' && r <= '9', strings.ContainsRune(":_-.", r):
		default:
			return false
		}
	}
	return true
}

// decide returns the transaction's decision, fencing it as aborted when
// its anchor has no row.
func (s *Server) decide(ctx context.Context, anchor *shardmap.Shard, gtrid string) (commit bool, _ error) {
	c, err := s.acquireClean(ctx, anchor)
	if err != nil {
		return false, err
	}
	defer s.o.Conns.Release(c)
	s.xa.ensureLog(anchor, c)
	// A short lock wait: the owner may hold the row, uncommitted.
	_, _, err = c.Exec("SET STATEMENT innodb_lock_wait_timeout=2, lock_wait_timeout=2 FOR INSERT INTO shardgate_2pc (gid, decision, owner) VALUES ('"+gtrid+"', 'abort', '"+s.xa.name()+"')", 0)
	if err == nil {
		return false, nil
	}
	if e, ok := sqlerr.As(err); !ok || e.Number != uint16(sqlerror.ERDupEntry) {
		return false, err
	}
	res, _, err := c.Exec("SELECT decision FROM shardgate_2pc WHERE gid = '"+gtrid+"'", 1)
	if err != nil {
		return false, err
	}
	if len(res.Rows) != 1 {
		return false, sqlerr.New(sqlerr.InternalError, "decision row of %s vanished", gtrid)
	}
	return res.Rows[0][0].ToString() == "commit", nil
}

// finish commits or rolls back one prepared branch on sh.
func (s *Server) finish(ctx context.Context, sh *shardmap.Shard, b preparedBranch, commit bool) error {
	c, err := s.acquireClean(ctx, sh)
	if err != nil {
		return err
	}
	defer s.o.Conns.Release(c)
	text := "XA ROLLBACK " + b.id()
	if commit {
		text = "XA COMMIT " + b.id()
	}
	_, _, err = c.Exec(text, 0)
	return err
}

// acquireClean is a connection to sh without any session's settings: a
// client's SET autocommit = 0 left on a pooled connection makes MariaDB
// refuse XA COMMIT / ROLLBACK of another connection's prepared branch
// (XAER_OUTSIDE: the session counts as inside a transaction).
func (s *Server) acquireClean(ctx context.Context, sh *shardmap.Shard) (ServerConn, error) {
	c, err := s.o.Conns.Acquire(ctx, sh, false)
	if err != nil {
		return nil, err
	}
	if len(c.Settings()) > 0 || c.Dirty() {
		if err := c.Reset(s.o.ResetTimeout); err != nil {
			c.MarkBroken()
			s.o.Conns.Release(c)
			return nil, err
		}
	}
	return c, nil
}
