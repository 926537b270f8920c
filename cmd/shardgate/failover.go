package main

import (
	"context"
	"errors"
	"fmt"

	"github.com/spf13/cobra"

	"github.com/shardgate/shardgate/failover"
	"github.com/shardgate/shardgate/shardmap"
)

func newFailoverCmd() *cobra.Command {
	var path, shard, keyspace, to, engine string
	cmd := &cobra.Command{
		Use:   "failover --shard S [--keyspace K] [--to NODE]",
		Short: "Promote a replica of a shard to primary and publish the new shard map (safe to re-run)",
		Long: "Promote a replica of a Postgres or MariaDB shard: the one named by --to, else the most advanced one that answers.\n" +
			"The old primary is made read-only if it answers and leaves the map; the other replicas follow the new primary.\n" +
			"Logs into the nodes as backends.postgres' (or backends.mysql') control user, which must be a superuser\n" +
			"(or hold the grants in docs/design/failover.md).\n" +
			"After a crash or an error, run the same command again: it resumes the unfinished failover.",
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if shard == "" {
				return errors.New("--shard is required")
			}
			cfg, st, err := openStore(path)
			if err != nil {
				return err
			}
			e, err := failoverEngine(cmd.Context(), st, engine, keyspace, shard)
			if err != nil {
				return err
			}
			b, section := cfg.Backends.Postgres, "backends.postgres"
			if e == shardmap.MySQL {
				b, section = cfg.Backends.MySQL, "backends.mysql"
			}
			if b == nil {
				return fmt.Errorf("%s: %s is not configured: failover needs its control user", path, section)
			}
			out := cmd.OutOrStdout()
			res, err := failover.Run(cmd.Context(), failover.Options{
				Store: st, Engine: e, Keyspace: keyspace, Shard: shard, To: to,
				Login: failover.LoginFromConfig(b),
				Step: func(s failover.Step) {
					status := "ok"
					if s.Err != nil {
						status = "FAILED: " + s.Err.Error()
					}
					fmt.Fprintf(out, "  %-8s %-12s %s %s\n", s.Name, s.Node, status, s.Detail)
				},
			})
			if err != nil {
				return err
			}
			switch {
			case res.AlreadyPrimary:
				fmt.Fprintf(out, "shard %s/%s: %s is already the primary (map version %d); nothing to do\n", res.Keyspace, res.Shard, res.To.Name, res.MapVersion)
			default:
				fmt.Fprintf(out, "shard %s/%s: %s is the primary at map version %d (was %s", res.Keyspace, res.Shard, res.To.Name, res.MapVersion, res.From.Name)
				if res.Fenced {
					fmt.Fprint(out, ", now read-only")
				}
				fmt.Fprintln(out, ")")
			}
			for _, w := range res.Warnings {
				fmt.Fprintln(cmd.ErrOrStderr(), "warning:", w)
			}
			return nil
		},
	}
	cmd.Flags().StringVarP(&path, "config", "c", "shardgate.yaml", "config file")
	cmd.Flags().StringVar(&shard, "shard", "", "shard name, as `shardgate map show` lists it (required)")
	cmd.Flags().StringVar(&keyspace, "keyspace", "", "keyspace (needed when several have a shard of that name)")
	cmd.Flags().StringVar(&to, "to", "", "replica to promote (default: the most advanced one that answers)")
	cmd.Flags().StringVar(&engine, "engine", "", "postgres or mysql (mariadb): needed only when keyspaces of both engines have a shard of that name")
	return cmd
}

// failoverEngine is the engine of the keyspace holding the shard: the one
// given, else the one engine whose keyspaces (the one named, if any) have
// a shard of that name. When none has, the map's only engine (Postgres
// if it has both), so that failover.Run names what is unknown.
func failoverEngine(ctx context.Context, st *shardmap.Store, given, keyspace, shard string) (shardmap.Engine, error) {
	if given != "" {
		return shardmap.ParseEngine(given)
	}
	snap, err := st.Load(ctx)
	if err != nil {
		return shardmap.EngineUnknown, err
	}
	found, present := map[shardmap.Engine]bool{}, map[shardmap.Engine]bool{}
	for _, ks := range snap.Keyspaces() {
		present[ks.Engine()] = true
		if keyspace != "" && ks.Name() != keyspace {
			continue
		}
		for _, sh := range ks.Shards() {
			if sh.Name == shard {
				found[ks.Engine()] = true
			}
		}
	}
	switch {
	case len(found) > 1:
		return shardmap.EngineUnknown, fmt.Errorf("keyspaces of both engines have a shard %q: give --engine (or --keyspace)", shard)
	case len(found) == 1:
		for e := range found {
			return e, nil
		}
	case len(present) == 1:
		for e := range present {
			return e, nil
		}
	}
	return shardmap.Postgres, nil
}
