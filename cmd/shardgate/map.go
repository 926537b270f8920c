package main

import (
	"errors"
	"fmt"
	"io"
	"strings"
	"text/tabwriter"

	"github.com/spf13/cobra"

	"github.com/shardgate/shardgate/config"
	"github.com/shardgate/shardgate/shardmap"
)

func newMapCmd() *cobra.Command {
	cmd := &cobra.Command{Use: "map", Short: "Show, check and seed the shard map"}
	var path string
	cmd.PersistentFlags().StringVarP(&path, "config", "c", "shardgate.yaml", "config file")

	cmd.AddCommand(&cobra.Command{
		Use:   "validate",
		Short: "Check the config and its topology; report every problem with its key path",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			cfg, err := config.Load(path)
			if err != nil {
				return err
			}
			for _, w := range cfg.Warnings() {
				fmt.Fprintln(cmd.ErrOrStderr(), "warning:", w)
			}
			if cfg.Topology == nil {
				fmt.Fprintf(cmd.OutOrStdout(), "%s: valid (no topology section: the store must already hold a map)\n", path)
				return nil
			}
			snap, err := shardmap.Compile(0, *cfg.Topology)
			if err != nil {
				return err
			}
			shards := 0
			for _, ks := range snap.Keyspaces() {
				shards += len(ks.Shards())
			}
			fmt.Fprintf(cmd.OutOrStdout(), "%s: valid: %d keyspaces, %d shards\n", path, len(snap.Keyspaces()), shards)
			return nil
		},
	})

	cmd.AddCommand(&cobra.Command{
		Use:   "init",
		Short: "Seed an empty store with the config's topology (a store that holds a map is left alone)",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			cfg, st, err := openStore(path)
			if err != nil {
				return err
			}
			if cfg.Topology == nil {
				return fmt.Errorf("%s has no topology section to seed the store with", path)
			}
			snap, did, err := st.Init(cmd.Context(), *cfg.Topology)
			if err != nil {
				return err
			}
			if did {
				fmt.Fprintf(cmd.OutOrStdout(), "store %s: seeded with map version %d\n", cfg.Store.Path, snap.Version())
			} else {
				fmt.Fprintf(cmd.OutOrStdout(), "store %s: already holds map version %d; left unchanged (the store wins over the config)\n", cfg.Store.Path, snap.Version())
			}
			return nil
		},
	})

	cmd.AddCommand(&cobra.Command{
		Use:   "show",
		Short: "Print the store's shard map: keyspaces, shards, key ranges and nodes",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			cfg, st, err := openStore(path)
			if err != nil {
				return err
			}
			snap, err := st.Load(cmd.Context())
			source := fmt.Sprintf("store %s", cfg.Store.Path)
			if errors.Is(err, shardmap.ErrNotInitialized) && cfg.Topology != nil {
				snap, err = shardmap.Compile(0, *cfg.Topology)
				source = "config topology (the store is empty: run `shardgate map init`)"
			}
			if err != nil {
				return err
			}
			printMap(cmd.OutOrStdout(), snap, source)
			return nil
		},
	})
	return cmd
}

func printMap(w io.Writer, snap *shardmap.Snapshot, source string) {
	fmt.Fprintf(w, "shard map version %d, from %s\n\n", snap.Version(), source)
	tw := tabwriter.NewWriter(w, 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "KEYSPACE\tENGINE\tSHARD\tKEY RANGE\tPRIMARY\tREPLICAS")
	for _, ks := range snap.Keyspaces() {
		for _, sh := range ks.Shards() {
			var reps []string
			for _, r := range sh.Replicas {
				reps = append(reps, r.Name+" "+r.Addr)
			}
			fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s %s\t%s\n", ks.Name(), ks.Engine(), sh.Name, sh.Range, sh.Primary.Name, sh.Primary.Addr, strings.Join(reps, ", "))
		}
	}
	tw.Flush()
	fmt.Fprintln(w)
	tw = tabwriter.NewWriter(w, 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "KEYSPACE\tENGINE\tTABLE\tSHARDED BY\tVINDEX")
	for _, ks := range snap.Keyspaces() {
		spec := snap.Spec()
		for _, kss := range spec.Keyspaces {
			if kss.Name != ks.Name() || kss.Engine != ks.Engine() {
				continue
			}
			for _, ts := range kss.Tables {
				t, _ := ks.Table(ts.Name)
				fmt.Fprintf(tw, "%s\t%s\t%s\t%s %s\t%s\n", ks.Name(), ks.Engine(), t.Name(), t.Column(), t.Type(), t.Vindex().Name())
			}
			for _, r := range kss.ReferenceTables {
				fmt.Fprintf(tw, "%s\t%s\t%s\t(reference: a copy on every shard)\t\n", ks.Name(), ks.Engine(), r)
			}
		}
	}
	tw.Flush()
}
