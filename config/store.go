package config

import (
	"fmt"
	"net/url"
	"strings"
)

// StoreType names the shard-map store.
type StoreType string

const (
	// StoreFile is a YAML file for a single proxy (the default).
	StoreFile StoreType = "file"
	// StoreEtcd is an etcd cluster shared by several proxies.
	StoreEtcd StoreType = "etcd"
)

func (s StoreType) String() string { return string(s) }

// Store says where the shard map, resharding workflows and write-pause state
// live: the one source of truth for the topology.
type Store struct {
	Type StoreType `yaml:"type,omitempty"`
	// Path is the file store's directory (default ./shardgate-store).
	Path string `yaml:"path,omitempty"`
	// Endpoints are the etcd client URLs or host:port pairs.
	Endpoints []string `yaml:"endpoints,omitempty"`
	// Prefix is the etcd key prefix (default /shardgate/).
	Prefix string `yaml:"prefix,omitempty"`
}

const (
	defaultStorePath  = "./shardgate-store"
	defaultEtcdPrefix = "/shardgate/"
)

func (s *Store) ensureDefaults() {
	if s.Type == "" {
		s.Type = StoreFile
	}
	switch s.Type {
	case StoreFile:
		setDefault(&s.Path, defaultStorePath)
	case StoreEtcd:
		setDefault(&s.Prefix, defaultEtcdPrefix)
	}
}

func (s *Store) validate(p *problems) {
	oneOf(p, "store.type", s.Type, StoreFile, StoreEtcd)
	switch s.Type {
	case StoreFile:
		if s.Path == "" {
			p.add("store.path", "missing")
		}
		if len(s.Endpoints) > 0 {
			p.add("store.endpoints", "is for type etcd only")
		}
		if s.Prefix != "" {
			p.add("store.prefix", "is for type etcd only")
		}
	case StoreEtcd:
		if s.Path != "" {
			p.add("store.path", "is for type file only")
		}
		if len(s.Endpoints) == 0 {
			p.add("store.endpoints", "missing: type etcd needs at least one endpoint")
		}
		for i, e := range s.Endpoints {
			if err := checkEndpoint(e); err != nil {
				p.addErr(fmt.Sprintf("store.endpoints[%d]", i), err)
			}
		}
		if !strings.HasPrefix(s.Prefix, "/") || !strings.HasSuffix(s.Prefix, "/") {
			p.add("store.prefix", "must start and end with '/', got %q", s.Prefix)
		}
	}
}

// checkEndpoint accepts http(s)://host:port or host:port.
func checkEndpoint(e string) error {
	if strings.Contains(e, "://") {
		u, err := url.Parse(e)
		if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
			return fmt.Errorf("want http(s)://host:port or host:port, got %q", e)
		}
		return nil
	}
	var p problems
	if _, _, ok := checkAddress(&p, "", e); !ok {
		return fmt.Errorf("want http(s)://host:port or host:port, got %q", e)
	}
	return nil
}
