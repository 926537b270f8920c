package config

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"

	"github.com/goccy/go-yaml"

	"github.com/shardgate/shardgate/shardmap"
)

// Config is the whole proxy configuration, one YAML file. Field names are
// the YAML keys; testdata/full.yaml is a complete, commented example.
//
// A Config from Load or Parse has had EnsureDefaults and Validate applied and
// its secrets resolved, and must not be changed: it may be shared by every
// goroutine through Current. A Config built in code (the demo) goes through
// EnsureDefaults and Validate before use and Marshal to be written out.
type Config struct {
	// ProxyID names this proxy in heartbeat rows, two-phase-commit
	// transaction ids and the shared store: letters, digits, '_', '-', '.',
	// at most 32. Default, filled in by Load and Parse: "<hostname>-<pid>",
	// which differs on every start; set it when several proxies share a host
	// or when heartbeat rows should be reused across restarts.
	ProxyID   string    `yaml:"proxy_id,omitempty"`
	Listeners Listeners `yaml:"listeners"`
	Users     []User    `yaml:"users,omitempty"`
	Backends  Backends  `yaml:"backends,omitzero"`
	Pools     Pools     `yaml:"pools,omitzero"`
	Limits    Limits    `yaml:"limits,omitzero"`
	Replicas  Replicas  `yaml:"replicas,omitzero"`
	// Transactions tune multi-shard writes (two-phase commit).
	Transactions Transactions `yaml:"transactions,omitzero"`
	// GlobalIDs: this proxy's snowflake node id (globalid.go).
	GlobalIDs GlobalIDs `yaml:"global_ids,omitzero"`
	Store     Store     `yaml:"store,omitzero"`
	Logging   Logging   `yaml:"logging,omitzero"`
	Runtime   Runtime   `yaml:"runtime,omitzero"`
	// Topology seeds an empty shard-map store (`shardgate map init`, and
	// serve when the store is empty). Once the store holds a map the store
	// wins: editing this section changes nothing at run time.
	Topology *shardmap.MapSpec `yaml:"topology,omitempty"`

	warnings []string
}

// EnsureDefaults fills every unset field that has a default and returns c.
// It does no I/O: ProxyID and secrets are filled in by Load and Parse.
func (c *Config) EnsureDefaults() *Config {
	c.Listeners.ensureDefaults()
	if c.Backends.Postgres != nil {
		c.Backends.Postgres.ensureDefaults()
	}
	if c.Backends.MySQL != nil {
		c.Backends.MySQL.ensureDefaults()
	}
	c.Pools.ensureDefaults()
	c.Limits.ensureDefaults()
	c.Replicas.ensureDefaults()
	c.Transactions.ensureDefaults()
	c.Store.ensureDefaults()
	c.Logging.ensureDefaults()
	return c
}

// Validate checks the config after EnsureDefaults and reports every problem,
// each a *PathError naming its key path, joined with errors.Join. It does no
// I/O (secret files are read by Load and Parse).
func (c *Config) Validate() error {
	var p problems
	c.validate(&p)
	return p.err()
}

func (c *Config) validate(p *problems) {
	if c.ProxyID != "" {
		checkProxyID(p, c.ProxyID)
	}
	c.Listeners.validate(p)
	validateUsers(p, c.Users, c.Listeners.Postgres != nil || c.Listeners.MySQL != nil)
	if c.Listeners.Postgres != nil && c.Backends.Postgres == nil {
		p.add("backends.postgres", "missing: listeners.postgres is enabled")
	}
	if c.Listeners.MySQL != nil && c.Backends.MySQL == nil {
		p.add("backends.mysql", "missing: listeners.mysql is enabled")
	}
	if c.Backends.Postgres != nil {
		c.Backends.Postgres.validate(p, "backends.postgres")
	}
	if c.Backends.MySQL != nil {
		c.Backends.MySQL.validate(p, "backends.mysql")
	}
	c.Pools.validate(p)
	c.Limits.validate(p)
	c.Replicas.validate(p)
	c.Transactions.validate(p)
	c.GlobalIDs.validate(p, c.Topology)
	c.Store.validate(p)
	c.Logging.validate(p)
	c.Runtime.validate(p)
	if c.Topology != nil {
		validateTopology(p, c.Topology, c.Backends)
	}
}

const maxProxyID = 32

func checkProxyID(p *problems, id string) {
	if len(id) > maxProxyID {
		p.add("proxy_id", "at most %d characters (it goes into XA transaction ids), got %d", maxProxyID, len(id))
	}
	if strings.ContainsFunc(id, func(r rune) bool { return !proxyIDRune(r) }) {
		p.add("proxy_id", "want letters, digits, '_', '-' or '.', got %q", id)
	}
}

func proxyIDRune(r rune) bool {
	return r == '_' || r == '-' || r == '.' || r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || r >= '0' && r <= '9'
}

// defaultProxyID is "<hostname>-<pid>", the hostname cut and cleaned to fit.
func defaultProxyID() string {
	host, err := os.Hostname()
	if err != nil || host == "" {
		host = "shardgate"
	}
	host, _, _ = strings.Cut(host, ".")
	host = strings.Map(func(r rune) rune {
		if proxyIDRune(r) {
			return r
		}
		return '_'
	}, host)
	pid := fmt.Sprint(os.Getpid())
	return host[:min(len(host), maxProxyID-1-len(pid))] + "-" + pid
}

// Warnings are problems that do not stop the proxy, found while loading (a
// world-readable password file, say). The caller logs them.
func (c *Config) Warnings() []string { return append([]string(nil), c.warnings...) }

// Marshal returns the config as YAML that Parse reads back to an equal
// config. Resolved secrets are never written, only their sources.
func (c *Config) Marshal() ([]byte, error) {
	b, err := yaml.MarshalWithOptions(c, yaml.Indent(2), yaml.IndentSequence(true))
	if err != nil {
		return nil, fmt.Errorf("config: marshal: %w", err)
	}
	return b, nil
}

// Load reads, decodes, completes and validates the config file at path.
// Relative file paths in it (password files, TLS files, the store path) are
// taken relative to the file's directory.
func Load(path string) (*Config, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("config: %w", err)
	}
	c, err := parse(data, filepath.Dir(path))
	if err != nil {
		return nil, fmt.Errorf("config %s: %w", path, err)
	}
	return c, nil
}

// Parse decodes, completes and validates a config from YAML: unknown keys
// are errors, then EnsureDefaults, Validate, and resolution of secrets.
// Relative file paths are taken relative to the working directory.
func Parse(data []byte) (*Config, error) {
	return parse(data, "")
}
