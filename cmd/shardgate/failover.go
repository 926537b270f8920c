package main

import (
	"errors"
	"fmt"

	"github.com/spf13/cobra"

	"github.com/shardgate/shardgate/failover"
	"github.com/shardgate/shardgate/shardmap"
)

func newFailoverCmd() *cobra.Command {
	var path, shard, keyspace, to string
	cmd := &cobra.Command{
		Use:   "failover --shard S [--keyspace K] [--to NODE]",
		Short: "Promote a replica of a shard to primary and publish the new shard map (safe to re-run)",
		Long: "Promote a replica of a Postgres shard: the one named by --to, else the most advanced one that answers.\n" +
			"The old primary is made read-only if it answers and leaves the map; the other replicas follow the new primary.\n" +
			"Logs into the nodes as backends.postgres' control user, which must be a superuser (or hold the grants in docs/design/failover.md).\n" +
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
			if cfg.Backends.Postgres == nil {
				return fmt.Errorf("%s: backends.postgres is not configured: failover needs its control user", path)
			}
			out := cmd.OutOrStdout()
			res, err := failover.Run(cmd.Context(), failover.Options{
				Store: st, Engine: shardmap.Postgres, Keyspace: keyspace, Shard: shard, To: to,
				Login: failover.LoginFromConfig(cfg.Backends.Postgres),
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
	return cmd
}
