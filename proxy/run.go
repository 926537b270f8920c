package proxy

import (
	"context"
	"errors"
	"fmt"
	"net"
	"runtime"
	"sync/atomic"
	"time"

	"go.uber.org/zap"
	"golang.org/x/sync/errgroup"

	"github.com/shardgate/shardgate/admin"
	"github.com/shardgate/shardgate/config"
	"github.com/shardgate/shardgate/frontend/mysqlwire"
	"github.com/shardgate/shardgate/frontend/pgwire"
	"github.com/shardgate/shardgate/internal/netwait"
	"github.com/shardgate/shardgate/shardmap"
)

// RunOptions are what Run serves.
type RunOptions struct {
	Config *config.Config
	Store  *shardmap.Store
	Log    *zap.Logger
	// DrainTimeout is how long a stop waits for open transactions
	// (default 30s).
	DrainTimeout time.Duration
	// OnReady, if set, is called once every endpoint serves.
	OnReady func(Addrs)
}

// Addrs are the addresses the endpoints listen on (empty: disabled).
type Addrs struct {
	Postgres, MySQL, Admin string
}

// Run applies the config's runtime settings (GOMAXPROCS), binds every
// configured listener, loads the shard map from the store
// (seeding an empty store from the config's topology), follows the store's
// new versions, and serves until ctx ends; then it drains. Listeners are
// bound before the store is touched: nothing starts half-way.
func Run(ctx context.Context, o RunOptions) error {
	cfg, log := o.Config, o.Log
	if log == nil {
		log = zap.NewNop()
	}
	if o.DrainTimeout == 0 {
		o.DrainTimeout = cfg.Limits.DrainTimeout
	}
	if n := cfg.Runtime.MaxProcs; n > 0 {
		runtime.GOMAXPROCS(n) // process-wide; 0 keeps Go's default, which follows cgroup limits
	}
	log.Info("Go runtime", zap.Int("max_procs", runtime.GOMAXPROCS(0)), zap.Int("cpus", runtime.NumCPU()),
		zap.Bool("from_config", cfg.Runtime.MaxProcs > 0), zap.Duration("spin_wait", cfg.Runtime.Spin()))
	var adminLn, pgLn, myLn net.Listener
	defer func() {
		for _, ln := range []net.Listener{adminLn, pgLn, myLn} {
			if ln != nil {
				ln.Close()
			}
		}
	}()
	var err error
	if a := cfg.Listeners.Admin; a != nil {
		if adminLn, err = net.Listen("tcp", a.Address); err != nil {
			return fmt.Errorf("listeners.admin: %w", err)
		}
	}
	if l := cfg.Listeners.Postgres; l != nil {
		if pgLn, err = net.Listen("tcp", l.Address); err != nil {
			return fmt.Errorf("listeners.postgres: %w", err)
		}
	}
	if l := cfg.Listeners.MySQL; l != nil {
		if myLn, err = net.Listen("tcp", l.Address); err != nil {
			return fmt.Errorf("listeners.mysql: %w", err)
		}
	}

	snap, err := o.Store.Load(ctx)
	if errors.Is(err, shardmap.ErrNotInitialized) && cfg.Topology != nil {
		var seeded bool
		snap, seeded, err = o.Store.Init(ctx, *cfg.Topology)
		if seeded {
			log.Info("seeded the empty store from the config's topology", zap.Uint64("map_version", snap.Version()))
		}
	}
	if err != nil {
		return err
	}
	var current atomic.Pointer[shardmap.Snapshot]
	current.Store(snap)
	log.Info("shard map loaded", zap.Uint64("map_version", snap.Version()))

	// One replica monitor for both endpoints: one heartbeat writer per
	// primary, one balance of reads.
	ev := LogEvents(log)
	monitor, err := NewMonitor(cfg, current.Load, ev.Replicas)
	if err != nil {
		return err
	}
	shared := Shared{Monitor: monitor, Spin: netwait.NewSpin(cfg.Runtime.Spin())}
	var pg *Postgres
	if pgLn != nil {
		if pg, err = NewPostgres(cfg, current.Load, ev, shared); err != nil {
			return err
		}
	}
	var my *MySQL
	if myLn != nil {
		if my, err = NewMySQL(cfg, current.Load, shared); err != nil {
			if pg != nil {
				pg.Shutdown(ctx) //nolint:errcheck // nothing served yet
			}
			return err
		}
	}
	var adm *admin.Server
	if adminLn != nil {
		adm = admin.NewServer(current.Load)
		adm.Register(SpinMetrics(shared.Spin)) //nolint:errcheck // the first collector of a new registry
		if pg != nil {
			if err := adm.Register(pg.ReplicaMetrics()); err != nil {
				pg.Shutdown(ctx) //nolint:errcheck // nothing served yet
				return fmt.Errorf("admin metrics: %w", err)
			}
			if err := adm.Register(pg.Metrics(current.Load)); err != nil {
				pg.Shutdown(ctx) //nolint:errcheck // nothing served yet
				if my != nil {
					my.Shutdown(ctx) //nolint:errcheck // nothing served yet
				}
				return fmt.Errorf("admin metrics: %w", err)
			}
		}
		if my != nil {
			if err := adm.Register(my.Metrics(current.Load)); err != nil {
				if pg != nil {
					pg.Shutdown(ctx) //nolint:errcheck // nothing served yet
				}
				my.Shutdown(ctx) //nolint:errcheck // nothing served yet
				return fmt.Errorf("admin metrics: %w", err)
			}
		}
	}

	g, gctx := errgroup.WithContext(ctx)
	g.Go(func() error { // follow the store: the one source of truth
		ch, err := o.Store.Watch(gctx, func(err error) { log.Error("ignoring a bad map in the store", zap.Error(err)) })
		if err != nil {
			return err
		}
		for s := range ch {
			if old := current.Load(); s.Version() != old.Version() {
				current.Store(s)
				log.Info("shard map changed", zap.Uint64("from", old.Version()), zap.Uint64("to", s.Version()))
			}
		}
		return nil
	})
	if pg != nil || my != nil {
		g.Go(func() error { return monitor.Run(gctx) })
	}
	var addrs Addrs
	if pg != nil {
		ln := pgLn
		pgLn = nil // Serve owns it now
		addrs.Postgres = ln.Addr().String()
		// The resolver outlives the drain: sessions still committing need
		// this proxy's lease.
		rctx, stopResolver := context.WithCancel(context.Background())
		defer stopResolver()
		reportTwoPhase(gctx, pg.TwoPhase(), snap, log)
		reportSequences(gctx, pg.globalIDs, snap, log)
		g.Go(func() error { return pg.RunResolver(rctx) })
		g.Go(func() error { return pg.RunFailoverDetector(gctx, cfg, o.Store, current.Load, log) })
		g.Go(func() error { return ignoreClosed(pg.Serve(ln)) })
		g.Go(func() error {
			<-gctx.Done()
			sctx, cancel := context.WithTimeout(context.Background(), o.DrainTimeout)
			defer cancel()
			err := pg.Shutdown(sctx)
			stopResolver()
			return err
		})
		log.Info("Postgres endpoint serving", zap.String("address", addrs.Postgres))
	}
	if my != nil {
		ln := myLn
		myLn = nil // Serve owns it now
		addrs.MySQL = ln.Addr().String()
		g.Go(func() error { return my.RunFailoverDetector(gctx, cfg, o.Store, current.Load, log) })
		g.Go(func() error { return ignoreClosed(my.Serve(ln)) })
		g.Go(func() error {
			<-gctx.Done()
			sctx, cancel := context.WithTimeout(context.Background(), o.DrainTimeout)
			defer cancel()
			return my.Shutdown(sctx)
		})
		log.Info("MySQL endpoint serving", zap.String("address", addrs.MySQL))
	}
	if adminLn != nil {
		ln := adminLn
		adminLn = nil
		addrs.Admin = ln.Addr().String()
		g.Go(func() error { return adm.Serve(ln) })
		g.Go(func() error {
			<-gctx.Done()
			sctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
			defer cancel()
			return adm.Shutdown(sctx)
		})
		adm.SetReady(true)
		log.Info("admin endpoint serving", zap.String("address", addrs.Admin))
	}
	if o.OnReady != nil {
		o.OnReady(addrs)
	}
	<-gctx.Done()
	log.Info("stopping")
	err = g.Wait()
	if errors.Is(err, context.Canceled) {
		return nil
	}
	return err
}

func ignoreClosed(err error) error {
	if errors.Is(err, pgwire.ErrServerClosed) || errors.Is(err, mysqlwire.ErrServerClosed) || errors.Is(err, net.ErrClosed) {
		return nil
	}
	return err
}
