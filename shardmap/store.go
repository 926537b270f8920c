package shardmap

import (
	"context"
	"errors"
	"fmt"

	"github.com/goccy/go-yaml"

	"github.com/shardgate/shardgate/store"
)

// Store is the one source of truth for the topology: the "map" record of a
// store backend, read and written as compiled Snapshots. The config only
// seeds an empty store (Init); after that failover and resharding change the
// map here, with CompareAndSwap, so a config reload can never undo them.
type Store struct {
	records store.Records
}

// NewStore returns a Store over a backend.
func NewStore(records store.Records) *Store { return &Store{records: records} }

// Records is the backend the store reads and writes: for workflows that
// keep their own records next to the map (failover's intents).
func (s *Store) Records() store.Records { return s.records }

// ErrNotInitialized means the store holds no map yet: run `shardgate map init`.
var ErrNotInitialized = errors.New("the store holds no shard map yet (run `shardgate map init -c CONFIG`)")

// Load returns the current topology.
func (s *Store) Load(ctx context.Context) (*Snapshot, error) {
	rec, err := s.records.Get(ctx, store.KeyMap)
	if errors.Is(err, store.ErrNotFound) {
		return nil, ErrNotInitialized
	}
	if err != nil {
		return nil, err
	}
	return decodeRecord(rec)
}

func decodeRecord(rec store.Record) (*Snapshot, error) {
	var spec MapSpec
	if err := yaml.UnmarshalWithOptions(rec.Value, &spec, yaml.Strict()); err != nil {
		return nil, fmt.Errorf("shard map version %d in the store: %w", rec.Version, err)
	}
	snap, err := Compile(rec.Version, spec)
	if err != nil {
		return nil, fmt.Errorf("shard map version %d in the store is invalid: %w", rec.Version, err)
	}
	return snap, nil
}

// Encode returns the YAML form of a map spec, as the store keeps it.
func Encode(spec MapSpec) ([]byte, error) { return yaml.Marshal(spec) }

// CompareAndSwap replaces the map at version with next, if next is valid and
// the stored map is still at version (0: the store is empty). It returns the
// new snapshot; store.ErrVersionConflict if another writer came first.
func (s *Store) CompareAndSwap(ctx context.Context, version uint64, next MapSpec) (*Snapshot, error) {
	if err := next.Validate(); err != nil {
		return nil, err
	}
	body, err := Encode(next)
	if err != nil {
		return nil, err
	}
	rec, err := s.records.CompareAndSwap(ctx, store.KeyMap, version, body)
	if err != nil {
		return nil, err
	}
	return Compile(rec.Version, next)
}

// Init seeds an empty store with spec. If the store already holds a map it
// is left alone and returned with initialized=false: the store wins over the
// config.
func (s *Store) Init(ctx context.Context, spec MapSpec) (snap *Snapshot, initialized bool, err error) {
	snap, err = s.CompareAndSwap(ctx, 0, spec)
	if errors.Is(err, store.ErrVersionConflict) {
		snap, err = s.Load(ctx)
		return snap, false, err
	}
	return snap, err == nil, err
}

// Watch sends the current snapshot and every new version until ctx ends.
// A stored map that fails to decode or validate is reported to onError and
// skipped: the caller keeps serving the last good snapshot.
func (s *Store) Watch(ctx context.Context, onError func(error)) (<-chan *Snapshot, error) {
	recs, err := s.records.Watch(ctx, store.KeyMap)
	if err != nil {
		return nil, err
	}
	out := make(chan *Snapshot, 1)
	go func() {
		defer close(out)
		for rec := range recs {
			snap, err := decodeRecord(rec)
			if err != nil {
				if onError != nil {
					onError(err)
				}
				continue
			}
			select {
			case <-out:
			default:
			}
			out <- snap
		}
	}()
	return out, nil
}
