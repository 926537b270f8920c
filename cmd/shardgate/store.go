package main

import (
	"fmt"

	"github.com/shardgate/shardgate/config"
	"github.com/shardgate/shardgate/shardmap"
	"github.com/shardgate/shardgate/store/filestore"
)

// openStore loads the config and opens the shard-map store it names.
func openStore(path string) (*config.Config, *shardmap.Store, error) {
	cfg, err := config.Load(path)
	if err != nil {
		return nil, nil, err
	}
	switch cfg.Store.Type {
	case config.StoreFile:
		fs, err := filestore.Open(cfg.Store.Path, filestore.Options{})
		if err != nil {
			return nil, nil, err
		}
		return cfg, shardmap.NewStore(fs), nil
	default:
		return nil, nil, fmt.Errorf("store.type %s: not built yet (only file)", cfg.Store.Type)
	}
}
