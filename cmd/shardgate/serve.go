package main

import (
	"context"
	"errors"
	"fmt"
	"net"
	"sync/atomic"
	"time"

	"github.com/spf13/cobra"
	"go.uber.org/zap"
	"golang.org/x/sync/errgroup"

	"github.com/shardgate/shardgate/admin"
	"github.com/shardgate/shardgate/config"
	"github.com/shardgate/shardgate/shardmap"
)

func newServeCmd() *cobra.Command {
	var path string
	cmd := &cobra.Command{
		Use:   "serve",
		Short: "Run the proxy",
		Long: `serve loads the config, takes the shard map from the store (seeding an
empty store from the config's topology), follows new map versions, and
serves the admin endpoint. The Postgres and MySQL endpoints are not built
yet: a config that enables them is served without them, with a warning.`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			return serve(cmd.Context(), path)
		},
	}
	cmd.Flags().StringVarP(&path, "config", "c", "shardgate.yaml", "config file")
	return cmd
}

func newLogger(l config.Logging) (*zap.Logger, error) {
	zc := zap.NewProductionConfig()
	if l.Format == "console" {
		zc = zap.NewDevelopmentConfig()
	}
	lvl, err := zap.ParseAtomicLevel(string(l.Level))
	if err != nil {
		return nil, err
	}
	zc.Level = lvl
	return zc.Build()
}

func serve(ctx context.Context, path string) error {
	cfg, st, err := openStore(path)
	if err != nil {
		return err
	}
	log, err := newLogger(cfg.Logging)
	if err != nil {
		return err
	}
	defer log.Sync() //nolint:errcheck // stderr sync errors are not actionable
	for _, w := range cfg.Warnings() {
		log.Warn("config", zap.String("warning", w))
	}
	// Bind every listener before touching the store or serving: nothing starts half-way.
	var adminLn net.Listener
	if a := cfg.Listeners.Admin; a != nil {
		if adminLn, err = net.Listen("tcp", a.Address); err != nil {
			return fmt.Errorf("listeners.admin: %w", err)
		}
	}
	if adminLn != nil {
		defer adminLn.Close()
	}
	snap, err := st.Load(ctx)
	if errors.Is(err, shardmap.ErrNotInitialized) && cfg.Topology != nil {
		var seeded bool
		snap, seeded, err = st.Init(ctx, *cfg.Topology)
		if seeded {
			log.Info("seeded the empty store from the config's topology", zap.Uint64("map_version", snap.Version()))
		}
	}
	if err != nil {
		return err
	}
	var current atomic.Pointer[shardmap.Snapshot]
	current.Store(snap)
	log.Info("shard map loaded", zap.Uint64("map_version", snap.Version()), zap.String("store", cfg.Store.Path))

	if cfg.Listeners.Postgres != nil {
		log.Warn("listeners.postgres: the Postgres endpoint is not built yet; not listening", zap.String("address", cfg.Listeners.Postgres.Address))
	}
	if cfg.Listeners.MySQL != nil {
		log.Warn("listeners.mysql: the MySQL endpoint is not built yet; not listening", zap.String("address", cfg.Listeners.MySQL.Address))
	}

	g, gctx := errgroup.WithContext(ctx)
	g.Go(func() error { // follow the store: the one source of truth
		ch, err := st.Watch(gctx, func(err error) { log.Error("ignoring a bad map in the store", zap.Error(err)) })
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
	if adminLn != nil {
		adm := admin.NewServer(current.Load)
		g.Go(func() error { return adm.Serve(adminLn) })
		g.Go(func() error {
			<-gctx.Done()
			sctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
			defer cancel()
			return adm.Shutdown(sctx)
		})
		adm.SetReady(true)
		log.Info("admin endpoint serving", zap.String("address", adminLn.Addr().String()))
	}
	<-gctx.Done()
	log.Info("stopping")
	err = g.Wait()
	if errors.Is(err, context.Canceled) {
		return nil
	}
	return err
}
