package failover

import (
	"context"
	"errors"
	"fmt"
	"sync"

	"github.com/shardgate/shardgate/shardmap"
)

// choose picks the target: o.To if it answers; else a replica already
// promoted (a crashed run's, or one promoted by hand); else the replica
// holding the most WAL (Postgres) or the furthest GTID position (MariaDB).
//
// warnings name the replicas passed over for errant transactions (they
// diverged from the shard's history and need attention).
func choose(ctx context.Context, o *Options, sh *shardmap.Shard) (_ shardmap.Node, _ state, warnings []string, _ error) {
	if len(sh.Replicas) == 0 {
		return shardmap.Node{}, state{}, nil, fmt.Errorf("%w: shard %s has no replicas", ErrNoReplica, sh.Name)
	}
	var names []string
	for _, r := range sh.Replicas {
		names = append(names, r.Name)
	}
	candidates := sh.Replicas
	if o.To != "" {
		candidates = nil
		for _, r := range sh.Replicas {
			if r.Name == o.To {
				candidates = []shardmap.Node{r}
			}
		}
		if candidates == nil {
			return shardmap.Node{}, state{}, nil, fmt.Errorf("%w: %q is not a replica of shard %s (its replicas: %v; its primary: %s)",
				ErrUnknownNode, o.To, sh.Name, names, sh.Primary.Name)
		}
	}
	type answer struct {
		st  state
		err error
	}
	answers := make([]answer, len(candidates))
	var wg sync.WaitGroup
	for i, r := range candidates {
		wg.Add(1)
		go func() {
			defer wg.Done()
			n, err := o.open(ctx, r, sh.Database)
			if err != nil {
				answers[i].err = err
				return
			}
			defer n.close()
			answers[i].st, answers[i].err = n.state(ctx)
		}()
	}
	wg.Wait()
	if o.To != "" {
		if err := answers[0].err; err != nil {
			return shardmap.Node{}, state{}, nil, fmt.Errorf("%w: %s: %v", ErrTargetUnreachable, o.To, err)
		}
		return candidates[0], answers[0].st, nil, nil
	}
	best, bestErrant, promotedAt := -1, -1, -1
	var errs []error
	for i, a := range answers {
		switch {
		case a.err != nil:
			errs = append(errs, a.err)
		case !a.st.inRecovery:
			if promotedAt >= 0 {
				return shardmap.Node{}, state{}, nil, fmt.Errorf("%w: %s and %s: name the one to keep", ErrSeveralPromoted,
					candidates[promotedAt].Name, candidates[i].Name)
			}
			promotedAt = i
		case a.st.errant != "":
			// MariaDB: transactions of its own, which the promotion
			// would replicate to every node. Only a clean replica is
			// chosen unasked.
			if bestErrant < 0 || a.st.ahead(answers[bestErrant].st) {
				bestErrant = i
			}
		case best < 0 || a.st.ahead(answers[best].st):
			best = i
		}
	}
	if promotedAt >= 0 {
		return candidates[promotedAt], answers[promotedAt].st, nil, nil
	}
	if bestErrant >= 0 {
		e := answers[bestErrant].st
		switch {
		case best < 0:
			return shardmap.Node{}, state{}, nil, fmt.Errorf("%w: shard %s: %s holds errant transactions %s (written on it, not on its primary), and no clean replica answers; promoting it would replicate them to every node: remove them, or name it with --to to promote it anyway",
				ErrErrantGTID, sh.Name, candidates[bestErrant].Name, e.errant)
		case e.ahead(answers[best].st):
			return shardmap.Node{}, state{}, nil, fmt.Errorf("%w: shard %s: %s holds errant transactions %s, and the clean %s lacks some of the primary's that it holds (%s vs %s): promoting either loses or spreads something; name the one to promote with --to",
				ErrErrantGTID, sh.Name, candidates[bestErrant].Name, e.errant, candidates[best].Name, e.gtid, answers[best].st.gtid)
		}
	}
	if best < 0 {
		return shardmap.Node{}, state{}, nil, fmt.Errorf("%w: none of shard %s's replicas %v answers: %w", ErrNoReplica, sh.Name, names, errors.Join(errs...))
	}
	for i, a := range answers {
		if a.err == nil && a.st.inRecovery && a.st.errant != "" {
			warnings = append(warnings, fmt.Sprintf("replica %s, passed over, holds errant transactions %s (written on it, not on its primary): it diverged from the shard; remove them or rebuild it", candidates[i].Name, a.st.errant))
		}
	}
	return candidates[best], answers[best].st, warnings, nil
}

// promotedNode reports whether the shard's replica name answers and is out
// of recovery: an unfinished failover to a node never promoted may be
// replaced by one to another node.
func promotedNode(ctx context.Context, o *Options, sh *shardmap.Shard, name string) bool {
	for _, r := range sh.Replicas {
		if r.Name != name {
			continue
		}
		n, err := o.open(ctx, r, sh.Database)
		if err != nil {
			return false
		}
		defer n.close()
		st, err := n.state(ctx)
		return err == nil && !st.inRecovery
	}
	return false
}
