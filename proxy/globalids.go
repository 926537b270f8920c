package proxy

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"time"

	"github.com/jackc/pgx/v5/pgconn"
	"go.uber.org/zap"

	"github.com/shardgate/shardgate/config"
	"github.com/shardgate/shardgate/globalid"
	"github.com/shardgate/shardgate/internal/sqlerr"
	"github.com/shardgate/shardgate/router"
	"github.com/shardgate/shardgate/shardmap"
)

// globalIDs owns this proxy's ID generators, one per (keyspace, generator
// name), made on first use: a globalid.Sequence whose blocks come from
// public.shardgate_sequences on the keyspace's first shard (over a
// control-plane pool, as the control user), or a globalid.Snowflake with
// the config's node id. Safe for concurrent use.
//
// A generator is remade when the map changes what it is (kind, block) or
// where its counter lives (the first shard's primary or database, e.g.
// after a failover); the one it replaces keeps what it already handed out
// and is closed with the rest.
type globalIDs struct {
	node    *int // config global_ids.node; checked when a snowflake is made
	control *controlPools

	ctx    context.Context // ends with Close; home preparations run under it
	cancel context.CancelFunc
	wg     sync.WaitGroup // home preparations in flight

	mu      sync.Mutex
	closed  bool
	gens    map[generatorKey]*generator
	homes   map[string]*sequenceHome // by node address + "/" + database
	retired []*generator             // replaced by a map change; closed by Close
}

// generatorKey names a generator as the map does.
type generatorKey struct{ keyspace, name string }

// generator is one made generator, and what it was made from.
type generator struct {
	kind  shardmap.GeneratorKind
	block int64
	home  string // sequence: its counter's node and database
	gen   globalid.Generator
	seq   *globalid.Sequence // the same as gen, for a sequence: Close
}

// sequenceHome is the database holding the counters of a keyspace's
// sequences: its pool, once SequenceTable exists there.
type sequenceHome struct {
	done  chan struct{} // closed when the preparation ends
	db    globalid.Queryer
	err   error
	shard string // names the shard in errors
}

// homeTimeout bounds connecting to a sequence home and creating its table.
const homeTimeout = 10 * time.Second

// newGlobalIDs builds the generators' owner from the config; it connects to
// nothing until a generator is first used.
func newGlobalIDs(cfg *config.Config) (*globalIDs, error) {
	if cfg.Backends.Postgres == nil {
		return nil, errors.New("proxy: global IDs need backends.postgres")
	}
	ctx, cancel := context.WithCancel(context.Background())
	return &globalIDs{
		node:    cfg.GlobalIDs.Node,
		control: newControlPools(controlLogin(cfg, "shardgate-globalid"), 4),
		ctx:     ctx,
		cancel:  cancel,
		gens:    make(map[generatorKey]*generator),
		homes:   make(map[string]*sequenceHome),
	}, nil
}

// Fill returns the IDs an INSERT needs (router.NeedsIDs), in req.Rows'
// order, for pgsql.AddInsertColumn. ks is the keyspace the INSERT routed
// to. Errors are *sqlerr.Error; none means the statement reached a shard,
// so the client may retry it.
func (g *globalIDs) Fill(ctx context.Context, req *router.IDRequest, ks *shardmap.Keyspace) ([]int64, error) {
	return g.Next(ctx, ks, req.Generator, req.Count)
}

// Next returns n new IDs of ks's generator gen, in increasing order. Errors
// are *sqlerr.Error (their cause wrapped).
func (g *globalIDs) Next(ctx context.Context, ks *shardmap.Keyspace, gen *shardmap.Generator, n int) ([]int64, error) {
	if n <= 0 {
		return nil, nil
	}
	gr, err := g.generator(ctx, ks, gen)
	if err != nil {
		return nil, err
	}
	ids, err := gr.gen.Next(ctx, n)
	if err != nil {
		return nil, idError(ctx, gen, err)
	}
	return ids, nil
}

// generator returns ks's generator gen, made if need be.
func (g *globalIDs) generator(ctx context.Context, ks *shardmap.Keyspace, gen *shardmap.Generator) (*generator, error) {
	key := generatorKey{ks.Name(), gen.Name}
	var home string
	var first *shardmap.Shard
	if gen.Kind == shardmap.Sequence {
		if ks.Engine() != shardmap.Postgres || len(ks.Shards()) == 0 {
			return nil, sqlerr.New(sqlerr.FeatureNotSupported, "global IDs: sequence generator %s needs a Postgres keyspace with shards (keyspace %s)", gen.Name, ks.Name())
		}
		first = ks.Shards()[0]
		home = first.Primary.Addr + "/" + first.Database
	}
	for {
		g.mu.Lock()
		if g.closed {
			g.mu.Unlock()
			return nil, sqlerr.New(sqlerr.AdminShutdown, "global IDs: the proxy is shutting down")
		}
		if gr := g.gens[key]; gr != nil && gr.kind == gen.Kind && gr.block == gen.Block && gr.home == home {
			g.mu.Unlock()
			return gr, nil
		}
		switch gen.Kind {
		case shardmap.Snowflake:
			gr, err := g.newSnowflake(gen)
			if err == nil {
				g.install(key, gr)
			}
			g.mu.Unlock()
			return gr, err
		case shardmap.Sequence:
			h := g.home(home, first)
			select {
			case <-h.done:
			default:
				g.mu.Unlock()
				select {
				case <-h.done:
				case <-ctx.Done():
					return nil, idError(ctx, gen, ctx.Err())
				}
				continue // look again: another caller may have made it
			}
			if h.err != nil {
				if g.homes[home] == h {
					delete(g.homes, home) // the next statement tries again
				}
				g.mu.Unlock()
				return nil, h.err
			}
			s, err := globalid.NewSequence(globalid.SequenceOptions{Name: gen.Name, Block: gen.Block, DB: h.db})
			if err != nil {
				g.mu.Unlock()
				return nil, sqlerr.New(sqlerr.ObjectNotInPrerequisiteState, "global IDs: generator %s: %s", gen.Name, err).Wrap(err)
			}
			gr := &generator{kind: gen.Kind, block: gen.Block, home: home, gen: s, seq: s}
			g.install(key, gr)
			g.mu.Unlock()
			return gr, nil
		default:
			g.mu.Unlock()
			return nil, sqlerr.New(sqlerr.FeatureNotSupported, "global IDs: generator %s has kind %s", gen.Name, gen.Kind)
		}
	}
}

// install makes gr key's generator, retiring the one it replaces; g.mu is
// held.
func (g *globalIDs) install(key generatorKey, gr *generator) {
	if old := g.gens[key]; old != nil && old.seq != nil {
		// Callers may still be in its Next: close it with the rest.
		g.retired = append(g.retired, old)
	}
	g.gens[key] = gr
}

// newSnowflake makes a snowflake generator with the config's node id.
func (g *globalIDs) newSnowflake(gen *shardmap.Generator) (*generator, error) {
	if g.node == nil {
		_, err := config.GlobalIDs{}.SnowflakeNode()
		return nil, sqlerr.New(sqlerr.ObjectNotInPrerequisiteState, "global IDs: generator %s: %s", gen.Name, err).
			WithHint("Give every proxy its own global_ids.node in its config.").Wrap(err)
	}
	s, err := globalid.NewSnowflake(globalid.SnowflakeOptions{Node: *g.node})
	if err != nil {
		return nil, sqlerr.New(sqlerr.ObjectNotInPrerequisiteState, "global IDs: generator %s: %s", gen.Name, err).Wrap(err)
	}
	return &generator{kind: shardmap.Snowflake, gen: s}, nil
}

// home returns the sequence home at key, starting its preparation if there
// is none; g.mu is held.
func (g *globalIDs) home(key string, sh *shardmap.Shard) *sequenceHome {
	if h := g.homes[key]; h != nil {
		return h
	}
	h := &sequenceHome{done: make(chan struct{}), shard: sh.Name}
	g.homes[key] = h
	node, database := sh.Primary, sh.Database
	g.wg.Add(1)
	go func() { // owned by g: Close cancels it and waits
		defer g.wg.Done()
		defer close(h.done)
		h.db, h.err = g.prepareHome(node, database, sh.Name)
	}()
	return h
}

// prepareHome opens the pool to a sequence home and creates SequenceTable
// there. It runs once per home (again only after a failure), under g.ctx,
// not a statement's: a statement that gives up does not fail the others
// waiting for the same home.
func (g *globalIDs) prepareHome(node shardmap.Node, database, shard string) (globalid.Queryer, error) {
	p, err := g.control.pool(node, database)
	if err != nil {
		return nil, sqlerr.New(sqlerr.ConnectionFailure, "global IDs: cannot reach shard %s", shard).Wrap(err)
	}
	ctx, cancel := context.WithTimeout(g.ctx, homeTimeout)
	defer cancel()
	err = globalid.EnsureSequenceTable(ctx, p)
	var pe *pgconn.PgError
	if errors.As(err, &pe) && (pe.Code == "23505" || pe.Code == "42P07") {
		// Another proxy created the table at the same moment: CREATE
		// TABLE IF NOT EXISTS can lose that race on the catalog's unique
		// indexes. It exists now.
		err = globalid.EnsureSequenceTable(ctx, p)
	}
	switch {
	case err == nil:
		return p, nil
	case errors.As(err, &pe):
		return nil, sqlerr.New(sqlerr.ObjectNotInPrerequisiteState, "global IDs: %s cannot be created on shard %s: %s", globalid.SequenceTable, shard, pe.Message).
			WithHint("Let the control user create tables in the public schema of %q, or create %s (name text PRIMARY KEY, next_value bigint NOT NULL) yourself.", database, globalid.SequenceTable).Wrap(err)
	}
	return nil, sqlerr.New(sqlerr.ConnectionFailure, "global IDs: cannot reach shard %s", shard).Wrap(err)
}

// idError makes a generator's error a SQL error.
func idError(ctx context.Context, gen *shardmap.Generator, err error) error {
	if _, ok := sqlerr.As(err); ok {
		return err
	}
	if ctx.Err() != nil {
		return sqlerr.New(sqlerr.QueryCanceled, "global IDs: canceled while taking values of generator %s", gen.Name).Wrap(err)
	}
	if gen.Kind == shardmap.Sequence {
		return sqlerr.New(sqlerr.ConnectionFailure, "global IDs: cannot take a block of generator %s", gen.Name).Wrap(err)
	}
	return sqlerr.New(sqlerr.ObjectNotInPrerequisiteState, "global IDs: generator %s: %s", gen.Name, err).Wrap(err)
}

// Close stops the generators (a sequence loses the rest of its block: a
// gap) and closes the control connections. Next fails afterwards.
func (g *globalIDs) Close() {
	g.mu.Lock()
	if g.closed {
		g.mu.Unlock()
		return
	}
	g.closed = true
	all := g.retired
	for _, gr := range g.gens {
		all = append(all, gr)
	}
	g.mu.Unlock()
	g.cancel()
	g.wg.Wait()
	for _, gr := range all {
		if gr.seq != nil {
			gr.seq.Close()
		}
	}
	g.control.close()
}

// sequenceFindings are one keyspace's findings of globalid.CheckSequences.
type sequenceFindings struct {
	Keyspace string
	Findings []globalid.Finding
	Err      error // the check could not run on some shard
}

// checkSequences runs globalid.CheckSequences, as the control user, on
// every Postgres keyspace of snap with several shards and sharded tables,
// each keyspace bounded by timeout. Keyspaces without generators are
// checked too: a serial column there is the collision a generator would
// prevent, and the finding says so.
func (g *globalIDs) checkSequences(ctx context.Context, snap *shardmap.Snapshot, timeout time.Duration) []sequenceFindings {
	var out []sequenceFindings
	for _, ks := range snap.Keyspaces() {
		if ks.Engine() != shardmap.Postgres || len(ks.Shards()) < 2 || len(ks.Tables()) == 0 {
			continue
		}
		r := sequenceFindings{Keyspace: ks.Name()}
		var dbs []globalid.ShardDB
		for _, sh := range ks.Shards() {
			p, err := g.control.pool(sh.Primary, sh.Database)
			if err != nil {
				r.Err = fmt.Errorf("shard %s: %w", sh.Name, err)
				break
			}
			dbs = append(dbs, globalid.ShardDB{Shard: sh.Name, DB: p})
		}
		if r.Err == nil {
			cctx, cancel := context.WithTimeout(ctx, timeout)
			r.Findings, r.Err = globalid.CheckSequences(cctx, ks, dbs)
			cancel()
		}
		out = append(out, r)
	}
	return out
}

// reportSequences checks at start, on every Postgres keyspace with several
// shards, for per-shard sequences (serial, identity, nextval
// defaults) that give the same values on several shards, and logs each
// finding as a warning. It only reads catalogs; a shard it cannot reach is
// a warning too, never a reason not to start.
func reportSequences(ctx context.Context, g *globalIDs, snap *shardmap.Snapshot, log *zap.Logger) {
	for _, r := range g.checkSequences(ctx, snap, 10*time.Second) {
		if r.Err != nil {
			log.Warn("could not check the keyspace's sequences for values repeated across shards", zap.String("keyspace", r.Keyspace), zap.Error(r.Err))
			continue
		}
		for _, f := range r.Findings {
			log.Warn("sequence gives the same values on several shards", zap.String("keyspace", r.Keyspace),
				zap.String("table", f.Table), zap.String("column", f.Column), zap.String("kind", f.Kind),
				zap.Strings("shards", f.Shards), zap.String("generator", f.Generated), zap.String("finding", f.String()))
		}
	}
}
