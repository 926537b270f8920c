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
func choose(ctx context.Context, o *Options, sh *shardmap.Shard) (shardmap.Node, state, error) {
	if len(sh.Replicas) == 0 {
		return shardmap.Node{}, state{}, fmt.Errorf("%w: shard %s has no replicas", ErrNoReplica, sh.Name)
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
			return shardmap.Node{}, state{}, fmt.Errorf("%w: %q is not a replica of shard %s (its replicas: %v; its primary: %s)",
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
			return shardmap.Node{}, state{}, fmt.Errorf("%w: %s: %v", ErrTargetUnreachable, o.To, err)
		}
		return candidates[0], answers[0].st, nil
	}
	best, promotedAt := -1, -1
	var errs []error
	for i, a := range answers {
		switch {
		case a.err != nil:
			errs = append(errs, a.err)
		case !a.st.inRecovery:
			if promotedAt >= 0 {
				return shardmap.Node{}, state{}, fmt.Errorf("%w: %s and %s: name the one to keep", ErrSeveralPromoted,
					candidates[promotedAt].Name, candidates[i].Name)
			}
			promotedAt = i
		case best < 0 || a.st.ahead(answers[best].st):
			best = i
		}
	}
	if promotedAt >= 0 {
		return candidates[promotedAt], answers[promotedAt].st, nil
	}
	if best < 0 {
		return shardmap.Node{}, state{}, fmt.Errorf("%w: none of shard %s's replicas %v answers: %w", ErrNoReplica, sh.Name, names, errors.Join(errs...))
	}
	return candidates[best], answers[best].st, nil
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
