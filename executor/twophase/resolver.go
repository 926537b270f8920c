package twophase

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/shardgate/shardgate/shardmap"
)

// collectAfter is how old a decision row must be before the resolver
// deletes it when no participant holds its transaction any more: far
// longer than an owner can spend between writing it and its second phase.
const collectAfter = "10 minutes"

// Run renews this proxy's lease and resolves orphaned prepared
// transactions every ResolveInterval until ctx ends; then it gives the
// lease up (others may resolve at once) and closes its connections.
func (c *Coordinator) Run(ctx context.Context) error {
	t := time.NewTicker(c.o.ResolveInterval)
	defer t.Stop()
	defer c.Close()
	for {
		if _, err := c.ResolveOnce(ctx); err != nil && ctx.Err() == nil && c.o.Listener.Error != nil {
			c.o.Listener.Error(err)
		}
		select {
		case <-ctx.Done():
			c.releaseLeases()
			return nil
		case <-t.C:
		}
	}
}

// Report says what one resolver pass did.
type Report struct {
	Committed, Aborted int // participants finished
	Prepared           int // shardgate transactions seen prepared
}

// ResolveOnce runs one pass over every Postgres keyspace whose two-phase
// commit is available: lease, forgotten rows, orphans, old rows.
func (c *Coordinator) ResolveOnce(ctx context.Context) (Report, error) {
	var rep Report
	snap := c.o.Snapshot()
	if snap == nil {
		return rep, nil
	}
	var errs []error
	for _, ks := range snap.Keyspaces() {
		if ks.Engine() != shardmap.Postgres || len(ks.Shards()) == 0 {
			continue
		}
		if err := c.Available(ctx, ks); err != nil {
			continue // said at start and at every refused write
		}
		if err := c.resolveKeyspace(ctx, ks, &rep); err != nil {
			errs = append(errs, fmt.Errorf("keyspace %s: %w", ks.Name(), err))
		}
	}
	return rep, errors.Join(errs...)
}

func (c *Coordinator) resolveKeyspace(ctx context.Context, ks *shardmap.Keyspace, rep *Report) error {
	coord := ks.Shards()[0]
	log, err := c.nodes.pool(ctx, coord.Primary, coord.Database)
	if err != nil {
		return err
	}
	if err := c.renew(ctx, ks, log); err != nil {
		return err
	}
	if err := c.forgetFinished(ctx, log); err != nil {
		return err
	}
	live, err := c.liveOwners(ctx, log)
	if err != nil {
		return err
	}
	seen := []string{}
	complete := true
	var errs []error
	for _, sh := range ks.Shards() {
		gids, err := c.prepared(ctx, sh)
		if err != nil {
			complete = false
			errs = append(errs, fmt.Errorf("shard %s: %w", sh.Name, err))
			continue
		}
		for _, gid := range gids {
			id, _, ok := ParsePart(gid)
			if !ok {
				continue
			}
			rep.Prepared++
			seen = append(seen, id.String())
			if !c.orphaned(id, live) {
				continue
			}
			d, err := record(ctx, log, id, c.Owner(), Abort)
			if err != nil {
				errs = append(errs, fmt.Errorf("deciding %s: %w", id, err))
				continue
			}
			if err := c.finishPart(ctx, sh, gid, d); err != nil {
				errs = append(errs, fmt.Errorf("shard %s: %w", sh.Name, err))
				continue
			}
			if d == Commit {
				rep.Committed++
			} else {
				rep.Aborted++
			}
			c.stats.Resolved.Add(1)
			if c.o.Listener.Resolved != nil {
				c.o.Listener.Resolved(gid, d)
			}
		}
	}
	if complete {
		if _, err := log.Exec(ctx, collectLog, collectAfter, seen); err != nil {
			errs = append(errs, fmt.Errorf("collecting old decisions: %w", err))
		}
		if _, err := log.Exec(ctx, collectLease); err != nil {
			errs = append(errs, fmt.Errorf("collecting old leases: %w", err))
		}
	}
	return errors.Join(errs...)
}

// orphaned: nobody alive will finish id. This proxy's own transactions
// are orphans once no session has them in flight (a session that lost a
// server in its second phase leaves the rest to the resolver); another
// proxy's once its lease has expired.
func (c *Coordinator) orphaned(id ID, live map[string]bool) bool {
	if id.Owner == c.Owner() {
		_, busy := c.inflight.Load(id)
		return !busy
	}
	return !live[id.Owner]
}

func (c *Coordinator) liveOwners(ctx context.Context, log querier) (map[string]bool, error) {
	rows, err := log.Query(ctx, liveOwners)
	if err != nil {
		return nil, err
	}
	owners, err := pgx.CollectRows(rows, pgx.RowTo[string])
	if err != nil {
		return nil, err
	}
	live := make(map[string]bool, len(owners))
	for _, o := range owners {
		live[o] = true
	}
	return live, nil
}

func (c *Coordinator) prepared(ctx context.Context, sh *shardmap.Shard) ([]string, error) {
	p, err := c.nodes.pool(ctx, sh.Primary, sh.Database)
	if err != nil {
		return nil, err
	}
	rows, err := p.Query(ctx, listPrepared)
	if err != nil {
		return nil, err
	}
	return pgx.CollectRows(rows, pgx.RowTo[string])
}

// finishPart runs the second phase of one participant. A gid that is gone
// meanwhile (its owner finished it) is not an error.
func (c *Coordinator) finishPart(ctx context.Context, sh *shardmap.Shard, gid string, d Decision) error {
	p, err := c.nodes.pool(ctx, sh.Primary, sh.Database)
	if err != nil {
		return err
	}
	var n int
	if err := p.QueryRow(ctx, "SELECT count(*) FROM pg_prepared_xacts WHERE gid = $1", gid).Scan(&n); err != nil || n == 0 {
		return err
	}
	_, err = p.Exec(ctx, SecondPhase(gid, d))
	if err != nil && isUndefinedObject(err) {
		return nil // finished by its owner between the check and now
	}
	return err
}

// SecondPhase is the statement that finishes participant gid.
func SecondPhase(gid string, d Decision) string {
	if d == Commit {
		return "COMMIT PREPARED " + quote(gid)
	}
	return "ROLLBACK PREPARED " + quote(gid)
}

// Prepare is the statement that ends participant gid's first phase.
func Prepare(gid string) string { return "PREPARE TRANSACTION " + quote(gid) }

// quote makes a gid a string literal; gids hold no quote (ParsePart's
// alphabet), but never trust that.
func quote(s string) string {
	b := make([]byte, 0, len(s)+2)
	b = append(b, '\'')
	for i := 0; i < len(s); i++ {
		if s[i] == '\'' {
			b = append(b, '\'')
		}
		b = append(b, s[i])
	}
	return string(append(b, '\''))
}

// forgetFinished deletes the decision rows of transactions whose every
// participant committed.
func (c *Coordinator) forgetFinished(ctx context.Context, log querier) error {
	c.mu.Lock()
	ids := c.forget
	c.forget = nil
	c.mu.Unlock()
	if len(ids) == 0 {
		return nil
	}
	gids := make([]string, len(ids))
	for i, id := range ids {
		gids[i] = id.String()
	}
	if _, err := log.Exec(ctx, forgetDone, gids); err != nil {
		c.mu.Lock()
		c.forget = append(c.forget, ids...)
		c.mu.Unlock()
		return fmt.Errorf("forgetting finished decisions: %w", err)
	}
	return nil
}

// releaseLeases gives up this proxy's lease on every coordinator, so that
// another proxy resolves at once what this one leaves prepared.
func (c *Coordinator) releaseLeases() {
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
	defer cancel()
	snap := c.o.Snapshot()
	if snap == nil {
		return
	}
	for _, ks := range snap.Keyspaces() {
		if ks.Engine() != shardmap.Postgres || len(ks.Shards()) == 0 {
			continue
		}
		c.mu.Lock()
		err, checked := c.ready[ks.Name()]
		c.mu.Unlock()
		if !checked || err != nil {
			continue
		}
		coord := ks.Shards()[0]
		if p, err := c.nodes.pool(ctx, coord.Primary, coord.Database); err == nil {
			_, _ = p.Exec(ctx, dropLease, c.Owner())
		}
	}
}
