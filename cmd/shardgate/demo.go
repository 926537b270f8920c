package main

import (
	"github.com/spf13/cobra"

	"github.com/shardgate/shardgate/demo"
)

func newDemoCmd() *cobra.Command {
	var opts demo.Options
	cmd := &cobra.Command{
		Use:   "demo",
		Short: "Start a local sandbox cluster (2 Postgres and 2 MariaDB shards, a replica each) and the proxy",
		Long: `demo starts, under a temporary folder, 2 Postgres 15 shards and 2 MariaDB
shards, each a primary with one replica, creates the demo tables (users and
orders sharded by user id, products as a reference table) with a few rows,
writes a proxy config and serves it. Ctrl-C stops and removes everything.

Fixed contract: Postgres endpoint 127.0.0.1:6432, MySQL endpoint
127.0.0.1:3307, admin http://127.0.0.1:9090, user app, password app,
database app.`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			opts.Out = cmd.OutOrStdout()
			return demo.Run(cmd.Context(), opts)
		},
	}
	f := cmd.Flags()
	f.IntVar(&opts.PostgresPort, "pg-port", demo.PostgresPort, "Postgres endpoint port")
	f.IntVar(&opts.MySQLPort, "mysql-port", demo.MySQLPort, "MySQL endpoint port")
	f.IntVar(&opts.AdminPort, "admin-port", demo.AdminPort, "admin HTTP port")
	f.StringVar(&opts.Dir, "dir", "", "keep the config, store and secrets in this (empty) folder instead of a temporary one")
	return cmd
}
