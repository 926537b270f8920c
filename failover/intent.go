package failover

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/goccy/go-yaml"

	"github.com/shardgate/shardgate/shardmap"
	"github.com/shardgate/shardgate/store"
)

// KeyIntents is the store record of the failovers begun, one entry per
// shard (the latest), next to the map.
const KeyIntents = "failover"

// Intent is a failover begun: which node replaces which. A run that finds
// its shard's intent unfinished resumes it with the same target instead of
// choosing again, so a re-run after a crash never promotes a second
// replica.
type Intent struct {
	Engine   shardmap.Engine `yaml:"engine"`
	Keyspace string          `yaml:"keyspace"`
	Shard    string          `yaml:"shard"`
	From     string          `yaml:"from"`
	To       string          `yaml:"to"`
	// MapVersion is the map version the failover started from.
	MapVersion uint64    `yaml:"map_version"`
	Started    time.Time `yaml:"started"`
	// Reason is "cli" or "detected" (a replica promoted outside shardgate).
	Reason string `yaml:"reason,omitempty"`
	Done   bool   `yaml:"done"`
	// Fenced says whether the old primary was reachable and made read-only.
	Fenced bool `yaml:"fenced"`
}

type intents struct {
	Failovers []Intent `yaml:"failovers"`
}

func (i *Intent) same(e shardmap.Engine, keyspace, shard string) bool {
	return i.Engine == e && i.Keyspace == keyspace && i.Shard == shard
}

// loadIntents reads the record; a missing record is empty, version 0.
func loadIntents(ctx context.Context, r store.Records) (intents, uint64, error) {
	rec, err := r.Get(ctx, KeyIntents)
	if errors.Is(err, store.ErrNotFound) {
		return intents{}, 0, nil
	}
	if err != nil {
		return intents{}, 0, err
	}
	var out intents
	if err := yaml.UnmarshalWithOptions(rec.Value, &out, yaml.Strict()); err != nil {
		return intents{}, 0, fmt.Errorf("failover: record %q version %d: %w", KeyIntents, rec.Version, err)
	}
	return out, rec.Version, nil
}

// Intents returns the failovers recorded in the store, for status output.
func Intents(ctx context.Context, r store.Records) ([]Intent, error) {
	in, _, err := loadIntents(ctx, r)
	return in.Failovers, err
}

// findIntent returns the shard's intent, if any.
func findIntent(ctx context.Context, r store.Records, e shardmap.Engine, keyspace, shard string) (*Intent, error) {
	in, _, err := loadIntents(ctx, r)
	if err != nil {
		return nil, err
	}
	for i := range in.Failovers {
		if in.Failovers[i].same(e, keyspace, shard) {
			it := in.Failovers[i]
			return &it, nil
		}
	}
	return nil, nil
}

// putIntent stores it as its shard's entry, replacing the one there, with
// compare-and-swap retried on conflicts (other shards' failovers).
func putIntent(ctx context.Context, r store.Records, it Intent) error {
	for attempt := 0; ; attempt++ {
		in, version, err := loadIntents(ctx, r)
		if err != nil {
			return err
		}
		replaced := false
		for i := range in.Failovers {
			if in.Failovers[i].same(it.Engine, it.Keyspace, it.Shard) {
				in.Failovers[i], replaced = it, true
			}
		}
		if !replaced {
			in.Failovers = append(in.Failovers, it)
		}
		body, err := yaml.Marshal(in)
		if err != nil {
			return err
		}
		_, err = r.CompareAndSwap(ctx, KeyIntents, version, body)
		if errors.Is(err, store.ErrVersionConflict) && attempt < 10 {
			continue
		}
		return err
	}
}
