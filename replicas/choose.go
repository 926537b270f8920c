package replicas

import (
	"context"
	"math/rand/v2"
	"time"

	"github.com/shardgate/shardgate/config"
	"github.com/shardgate/shardgate/internal/sqlerr"
	"github.com/shardgate/shardgate/shardmap"
)

// Picker chooses replicas (Monitor); front ends take it as an interface.
type Picker interface {
	Pick(sh *shardmap.Shard, maxLag time.Duration, minPos Position) (Lease, bool)
	Wait(ctx context.Context, sh *shardmap.Shard, maxLag time.Duration, minPos Position) (Lease, error)
}

// Policy is how a read that may go to replicas goes there: the session's
// settings (config, SET shardgate.*) and the statement's target.
type Policy struct {
	MaxLag time.Duration
	// Preferred (replicas_preferred): the primary when none fits,
	// whatever WhenLagging says.
	Preferred      bool
	WhenLagging    config.LagPolicy
	WaitTimeout    time.Duration
	ReadYourWrites bool
	// PrimaryWeight: the primary takes this share of the reads, against
	// the replicas' weights.
	PrimaryWeight int
}

// Choice says where a read goes when Choose gives no lease.
type Choice int

const (
	// OnReplica: the lease names the replica.
	OnReplica Choice = iota
	// PrimaryShare: the primary's weighted share of the reads.
	PrimaryShare
	// PrimaryUnknown: the session's last commit on the shard has no
	// known position (read-your-writes cannot tell who replayed it).
	PrimaryUnknown
	// PrimaryFallback: no replica fits (lag, or none has replayed the
	// session's last commit there) and the policy falls back.
	PrimaryFallback
)

func (c Choice) String() string {
	switch c {
	case OnReplica:
		return "replica"
	case PrimaryShare:
		return "primary share"
	case PrimaryUnknown:
		return "primary: commit position unknown"
	default:
		return "primary fallback"
	}
}

// Choose applies p to a read on sh: a replica's lease, or where else it
// goes. commits is the session's record of its last commits (for
// read-your-writes). The error (when_lagging error, or a wait that timed
// out) is a *sqlerr.Error both front ends encode. ctx bounds a wait.
func Choose(ctx context.Context, r Picker, sh *shardmap.Shard, p Policy, commits *Commits) (Lease, Choice, error) {
	if w := p.PrimaryWeight; w > 0 {
		total := w
		for _, n := range sh.Replicas {
			total += max(n.Weight, 1)
		}
		if rand.IntN(total) < w {
			return Lease{}, PrimaryShare, nil
		}
	}
	var minPos Position
	if p.ReadYourWrites {
		var known bool
		if minPos, known = commits.MinPos(sh.Name); !known {
			return Lease{}, PrimaryUnknown, nil
		}
	}
	lease, ok := r.Pick(sh, p.MaxLag, minPos)
	if ok {
		return lease, OnReplica, nil
	}
	if !minPos.IsZero() && p.WhenLagging != config.LagWait {
		if any, fits := r.Pick(sh, p.MaxLag, Position{}); fits {
			// Replicas are within max_lag, but none has replayed this
			// session's last commit there: read-your-writes reads the
			// primary, whatever when_lagging says of lag.
			any.Release()
			return Lease{}, PrimaryFallback, nil
		}
	}
	if p.Preferred {
		return Lease{}, PrimaryFallback, nil
	}
	switch p.WhenLagging {
	case config.LagError:
		return Lease{}, PrimaryFallback, errNoReplica(sh, p.MaxLag)
	case config.LagWait:
		wctx, cancel := context.WithTimeout(ctx, p.WaitTimeout)
		defer cancel()
		lease, err := r.Wait(wctx, sh, p.MaxLag, minPos)
		if err != nil {
			return Lease{}, PrimaryFallback, errNoReplica(sh, p.MaxLag).Wrap(err).
				WithDetail("Waited %s (replicas.wait_timeout).", p.WaitTimeout)
		}
		return lease, OnReplica, nil
	}
	return Lease{}, PrimaryFallback, nil
}

func errNoReplica(sh *shardmap.Shard, maxLag time.Duration) *sqlerr.Error {
	return sqlerr.New(sqlerr.ObjectNotInPrerequisiteState, "no replica of shard %s is within max_lag %s and has replayed this session's writes", sh.Name, maxLag).
		WithHint("Raise shardgate.max_lag, read from the primary (SET shardgate.read = primary), or set replicas.when_lagging to primary or wait.")
}
