package main

import (
	"context"

	"github.com/spf13/cobra"
	"go.uber.org/zap"

	"github.com/shardgate/shardgate/config"
	"github.com/shardgate/shardgate/proxy"
)

func newServeCmd() *cobra.Command {
	var path string
	cmd := &cobra.Command{
		Use:   "serve",
		Short: "Run the proxy",
		Long: `serve loads the config, takes the shard map from the store (seeding an
empty store from the config's topology), follows new map versions, and
serves the Postgres endpoint and the admin endpoint. SIGTERM drains: open
transactions get 30s to finish. The MySQL endpoint is not built yet.`,
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
	return proxy.Run(ctx, proxy.RunOptions{Config: cfg, Store: st, Log: log})
}
