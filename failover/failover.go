package failover

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/shardgate/shardgate/shardmap"
)

// Options say which shard fails over, to what, and how.
type Options struct {
	Store *shardmap.Store
	// Engine of the keyspace (default Postgres): Postgres or MySQL
	// (MariaDB servers).
	Engine shardmap.Engine
	// Keyspace may be empty when one keyspace of the engine has a shard
	// named Shard.
	Keyspace string
	Shard    string
	// To names the replica to promote; empty: the replica already
	// promoted, else the most advanced one that answers.
	To    string
	Login Login
	// Reason is recorded with the intent: "cli" (default) or "detected".
	Reason string
	// FenceTimeout bounds fencing the old primary: the reload taking
	// effect and the sessions it ends exiting (default 5s).
	FenceTimeout time.Duration
	// CatchUpTimeout bounds a planned switchover's wait for the target to
	// replay what the fenced primary wrote (default 10s).
	CatchUpTimeout time.Duration
	// PromoteTimeout bounds pg_promote (default 60s, Postgres' own).
	PromoteTimeout time.Duration
	// StreamTimeout bounds the check that re-pointed replicas stream from
	// the new primary (default 10s); past it they are reported, the
	// failover stands.
	StreamTimeout time.Duration
	// Step, if set, is told of each step as it ends (err nil: done).
	Step func(Step)
}

// Step is one step's outcome, for progress output and logs.
type Step struct {
	Name   string // choose, intent, fence, catch-up, hold, promote, fence-check, repoint, publish, stream
	Node   string
	Detail string
	Err    error
}

// Result is what a failover did.
type Result struct {
	Keyspace, Shard string
	From, To        shardmap.Node
	// MapVersion is the map version naming To as the primary.
	MapVersion uint64
	// Resumed: an unfinished earlier run's intent was taken up.
	Resumed bool
	// AlreadyPrimary: To was the shard's primary already; nothing done.
	AlreadyPrimary bool
	// Fenced: the old primary answered and is read-only; FenceErr says
	// why not when it did not.
	Fenced   bool
	FenceErr error
	// Warnings are problems that did not stop the failover: replicas that
	// could not be re-pointed or do not stream from the new primary yet.
	Warnings []string
}

func (o *Options) ensureDefaults() {
	if o.Engine == shardmap.EngineUnknown {
		o.Engine = shardmap.Postgres
	}
	if o.Reason == "" {
		o.Reason = "cli"
	}
	if o.FenceTimeout <= 0 {
		o.FenceTimeout = 5 * time.Second
	}
	if o.CatchUpTimeout <= 0 {
		o.CatchUpTimeout = 10 * time.Second
	}
	if o.PromoteTimeout <= 0 {
		o.PromoteTimeout = 60 * time.Second
	}
	if o.StreamTimeout <= 0 {
		o.StreamTimeout = 10 * time.Second
	}
}

func (o *Options) step(s Step) {
	if o.Step != nil {
		o.Step(s)
	}
}

// Run fails the shard over (see the package doc for the steps). Every
// error before the promotion leaves the map and the nodes' roles as they
// were; a re-run after any error or crash resumes.
func Run(ctx context.Context, o Options) (Result, error) {
	o.ensureDefaults()
	if o.Engine != shardmap.Postgres && o.Engine != shardmap.MySQL {
		return Result{}, fmt.Errorf("failover: %s keyspaces: not supported", o.Engine)
	}
	if o.Store == nil || o.Shard == "" {
		return Result{}, errors.New("failover: a store and a shard are needed")
	}
	records := o.Store.Records()
	snap, err := o.Store.Load(ctx)
	if err != nil {
		return Result{}, err
	}
	ksName, err := resolveKeyspace(snap, o.Engine, o.Keyspace, o.Shard)
	if err != nil {
		return Result{}, err
	}
	sh, err := findShard(snap, o.Engine, ksName, o.Shard)
	if err != nil {
		return Result{}, err
	}
	res := Result{Keyspace: ksName, Shard: sh.Name, From: sh.Primary}

	it, err := findIntent(ctx, records, o.Engine, ksName, sh.Name)
	if err != nil {
		return res, err
	}
	if it != nil && !it.Done {
		if o.To != "" && o.To != it.To && promotedNode(ctx, &o, sh, it.To) {
			return res, fmt.Errorf("%w: shard %s is being failed over from %s to %s (promoted) since %s; re-run without a target or with %s",
				ErrUnfinished, sh.Name, it.From, it.To, it.Started.Format(time.RFC3339), it.To)
		}
	}
	if it != nil && !it.Done && (o.To == "" || o.To == it.To) {
		res.Resumed = true
		if sh.Primary.Name == it.To { // the map was published; only the mark is missing
			res.To, res.MapVersion = sh.Primary, snap.Version()
			it.Done = true
			return res, putIntent(ctx, records, *it)
		}
		if sh.Primary.Name != it.From {
			return res, fmt.Errorf("failover: shard %s's primary is %s, neither %s nor %s: the map changed under an unfinished failover",
				sh.Name, sh.Primary.Name, it.From, it.To)
		}
		o.To = it.To
	} else {
		it = nil
		if o.To == sh.Primary.Name {
			res.To, res.MapVersion, res.AlreadyPrimary = sh.Primary, snap.Version(), true
			return res, nil
		}
	}

	target, targetState, warnings, err := choose(ctx, &o, sh)
	o.step(Step{Name: "choose", Node: target.Name, Err: err,
		Detail: targetState.String()})
	if err != nil {
		return res, err
	}
	res.Warnings = append(res.Warnings, warnings...)
	res.To = target
	if targetState.errant != "" {
		// Only with To naming it (choose refuses it otherwise).
		w := fmt.Sprintf("%s holds errant transactions %s (written on it, not on its primary): the promotion makes them part of every replica's history", target.Name, targetState.errant)
		res.Warnings = append(res.Warnings, w)
		o.step(Step{Name: "choose", Node: target.Name, Detail: "warning: " + w})
	}
	if it == nil {
		it = &Intent{Engine: o.Engine, Keyspace: ksName, Shard: sh.Name, From: sh.Primary.Name, To: target.Name,
			MapVersion: snap.Version(), Started: time.Now().UTC(), Reason: o.Reason}
		err := putIntent(ctx, records, *it)
		o.step(Step{Name: "intent", Node: target.Name, Err: err})
		if err != nil {
			return res, err
		}
	}

	t, err := o.open(ctx, target, sh.Database)
	if err != nil {
		return res, fmt.Errorf("%w: %v", ErrTargetUnreachable, err)
	}
	defer t.close()

	// Fence before promoting: from here until every proxy has the new map,
	// a write can only fail, never land on the old primary.
	oldPos, fenced, fenceErr := fenceOld(ctx, &o, sh)
	res.Fenced, res.FenceErr = fenced, fenceErr
	if fenceErr != nil && !errors.Is(fenceErr, errUnreachable) {
		if targetState.inRecovery {
			// A fence that failed part way (its sessions outlasting
			// FenceTimeout) may have left the old primary read-only.
			return res, liftFence(ctx, &o, sh, t, fmt.Errorf("%w: %s: %v", ErrFenceFailed, sh.Primary.Name, fenceErr))
		}
		// The target is already promoted: two primaries exist now, and
		// the map must name one of them. It names the promoted one.
		res.Warnings = append(res.Warnings, fmt.Sprintf("old primary %s answers but was not fenced: %v", sh.Primary.Name, fenceErr))
	}
	it.Fenced = fenced
	var others []shardmap.Node
	for _, r := range sh.Replicas {
		if r.Name != target.Name {
			others = append(others, r)
		}
	}
	if fenced && targetState.inRecovery {
		err := t.waitReplayed(ctx, oldPos, o.CatchUpTimeout)
		o.step(Step{Name: "catch-up", Node: target.Name, Err: err, Detail: "to " + oldPos.String()})
		if err != nil {
			return res, liftFence(ctx, &o, sh, t, err)
		}
		if m, ok := t.(*mnode); ok {
			// Nothing another replica applied may be missing on the new
			// primary, even a write past the fence (mariadb_hold.go).
			stopped, furthest, err := holdOthers(ctx, &o, others, sh.Database)
			o.step(Step{Name: "hold", Node: target.Name, Err: err,
				Detail: fmt.Sprintf("%d other replica(s) stopped receiving, at %q", len(stopped), furthest)})
			if err == nil {
				err = m.waitApplied(ctx, furthest, "the other replicas received up to", o.CatchUpTimeout)
				o.step(Step{Name: "catch-up", Node: target.Name, Err: err, Detail: fmt.Sprintf("to %q, what the other replicas received", furthest)})
			}
			if err != nil {
				note := thawOthers(ctx, &o, stopped, sh.Database)
				return res, liftFence(ctx, &o, sh, t, fmt.Errorf("%w%s", err, note))
			}
		}
	}

	if m, ok := t.(*mnode); ok {
		// A semi-synchronous primary only where a semi-synchronous
		// replica will follow it (mariadb.go, promote).
		m.semiSyncFollowers = semiSyncFollowers(ctx, &o, others, sh.Database)
	}
	err = t.promote(ctx, o.PromoteTimeout)
	detail := ""
	if m, ok := t.(*mnode); ok && m.semiSyncNote != "" {
		detail = m.semiSyncNote
		if m.semiSyncWarn {
			res.Warnings = append(res.Warnings, target.Name+": "+m.semiSyncNote)
		}
	}
	o.step(Step{Name: "promote", Node: target.Name, Err: err, Detail: detail})
	if err != nil {
		// Part of the promotion may be done: the old primary stays
		// fenced, a re-run finishes the failover.
		return res, err
	}
	if m, ok := t.(*mnode); ok && fenced {
		if d, warn := checkPastFence(ctx, &o, sh, oldPos, m); d != "" {
			o.step(Step{Name: "fence-check", Node: sh.Primary.Name, Detail: d})
			if warn {
				res.Warnings = append(res.Warnings, d)
			}
		}
	}

	// Re-point before publishing: with synchronous replication the new
	// primary's commits wait for a standby, so the sooner one follows it
	// the shorter the write pause.
	repointed := repointAll(ctx, &o, t, others, sh.Database, &res)

	snap2, err := publish(ctx, o.Store, *it)
	o.step(Step{Name: "publish", Node: target.Name, Err: err, Detail: versionDetail(snap2)})
	if err != nil {
		return res, err
	}
	res.MapVersion = snap2.Version()
	it.Done = true
	if err := putIntent(ctx, records, *it); err != nil {
		// The map names the new primary: the failover stands. A re-run
		// finds the map published and only marks the intent.
		res.Warnings = append(res.Warnings, fmt.Sprintf("could not mark the failover done in the store: %v", err))
	}
	checkStreaming(ctx, &o, repointed, target, sh.Database, &res)
	return res, nil
}

// liftFence is a run giving up before it promoted anything, after its
// fence: a planned switchover whose target did not catch up, or a fence
// that failed part way. Run's promise is the roles as they were, so the
// old primary — still the map's primary — takes writes again, unless the
// target is no longer a replica (promoted by hand or by another run):
// then lifting the fence would make two writable primaries, and it stays.
// The error returned is cause, saying which.
func liftFence(ctx context.Context, o *Options, sh *shardmap.Shard, t server, cause error) error {
	lctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 10*time.Second)
	defer cancel()
	st, err := t.state(lctx)
	if err != nil || !st.inRecovery {
		why := "it is promoted"
		if err != nil {
			why = err.Error()
		}
		o.step(Step{Name: "unfence", Node: sh.Primary.Name, Detail: "kept: the target may be a primary (" + why + ")"})
		return fmt.Errorf("%w; the old primary %s is left fenced (read-only): the target %s may be promoted (%s); re-run to finish the failover",
			cause, sh.Primary.Name, t.nodeInfo().Name, why)
	}
	err = func() error {
		p, err := o.open(lctx, sh.Primary, sh.Database)
		if err != nil {
			return err
		}
		defer p.close()
		return p.unfence(lctx)
	}()
	o.step(Step{Name: "unfence", Node: sh.Primary.Name, Err: err, Detail: "nothing promoted: the old primary takes writes again"})
	if err != nil {
		return fmt.Errorf("%w; nothing was promoted, and lifting the fence of %s failed (%v): it is left read-only, lift it by hand or re-run",
			cause, sh.Primary.Name, err)
	}
	return fmt.Errorf("%w; nothing was promoted and the fence was lifted: %s takes writes again", cause, sh.Primary.Name)
}

func versionDetail(s *shardmap.Snapshot) string {
	if s == nil {
		return ""
	}
	return fmt.Sprintf("map version %d", s.Version())
}

// errUnreachable marks a fence not attempted because the old primary does
// not answer: expected when it crashed.
var errUnreachable = errors.New("unreachable")

// fenceOld fences the shard's primary if it answers and returns the
// position that holds every commit it acknowledged (fence.go,
// mariadb_fence.go).
func fenceOld(ctx context.Context, o *Options, sh *shardmap.Shard) (fenced, bool, error) {
	p, err := o.open(ctx, sh.Primary, sh.Database)
	if err != nil {
		err = fmt.Errorf("%w: %v", errUnreachable, err)
		o.step(Step{Name: "fence", Node: sh.Primary.Name, Detail: "old primary does not answer; the new map fences it", Err: nil})
		return fenced{}, false, err
	}
	defer p.close()
	f, err := p.fence(ctx, o, sh.Database)
	if err != nil {
		o.step(Step{Name: "fence", Node: sh.Primary.Name, Err: err})
		return fenced{}, false, err
	}
	o.step(Step{Name: "fence", Node: sh.Primary.Name,
		Detail: fmt.Sprintf("read-only, %d client sessions ended, everything acknowledged is at or before %s", f.ended, f)})
	return f, true, nil
}
