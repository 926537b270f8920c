package demo

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"io"
	"net"
	"os"
	"path/filepath"
	"strconv"
	"time"

	"go.uber.org/zap"
	"golang.org/x/sync/errgroup"

	"github.com/shardgate/shardgate/auth"
	"github.com/shardgate/shardgate/config"
	"github.com/shardgate/shardgate/internal/selfsign"
	"github.com/shardgate/shardgate/proxy"
	"github.com/shardgate/shardgate/sandbox"
	"github.com/shardgate/shardgate/shardmap"
	"github.com/shardgate/shardgate/store/filestore"
)

// Options shape a demo run. The zero value is the fixed contract.
type Options struct {
	// Ports of the endpoints; 0 means the contract's port. -1 means any
	// free port (tests).
	PostgresPort, MySQLPort, AdminPort int
	// Dir holds the config, the store and the secrets. "" means a temporary
	// folder removed at the end; a given folder is kept (it must be empty or
	// missing).
	Dir string
	// Out receives the connection summary (default: discarded).
	Out io.Writer
	// OnReady, if set, is called once everything serves.
	OnReady func(Info)
	// Log receives the proxy's log (default: none).
	Log *zap.Logger
}

// Info describes a running demo.
type Info struct {
	PostgresAddr string
	MySQLAddr    string
	AdminAddr    string
	ConfigPath   string
	StoreDir     string
	Postgres     *sandbox.Cluster
	MariaDB      *sandbox.Cluster
}

func (o *Options) ensureDefaults() {
	port := func(p *int, def int) {
		switch *p {
		case 0:
			*p = def
		case -1:
			*p = 0
		}
	}
	port(&o.PostgresPort, PostgresPort)
	port(&o.MySQLPort, MySQLPort)
	port(&o.AdminPort, AdminPort)
	if o.Out == nil {
		o.Out = io.Discard
	}
}

// Run starts the demo cluster and the proxy, and serves until ctx ends;
// then it stops every server and removes what it made. Nothing is left
// half-started: any failure stops what already runs.
func Run(ctx context.Context, opts Options) (err error) {
	opts.ensureDefaults()
	started := time.Now()

	// Check the ports first: a taken port fails in a moment, not after the
	// clusters are up.
	for _, p := range []int{opts.PostgresPort, opts.AdminPort} {
		if p == 0 {
			continue
		}
		ln, err := net.Listen("tcp", net.JoinHostPort("127.0.0.1", strconv.Itoa(p)))
		if err != nil {
			return fmt.Errorf("demo: port %d: %w", p, err)
		}
		ln.Close()
	}

	dir, cleanup, err := workDir(opts.Dir)
	if err != nil {
		return err
	}
	defer cleanup()

	controlPassword, err := randomPassword()
	if err != nil {
		return err
	}
	spec := sandbox.Spec{
		Shards:   len(keyRanges),
		Replicas: 1,
		Database: Database,
		Users:    []sandbox.User{{Name: User, Password: Password}, {Name: controlUser, Password: controlPassword}},
	}
	fmt.Fprintf(opts.Out, "starting 2 Postgres shards and 2 MariaDB shards, each with a replica…\n")
	var pg, my *sandbox.Cluster
	g, gctx := errgroup.WithContext(ctx)
	g.Go(func() (err error) { pg, err = sandbox.StartPostgres(gctx, spec); return err })
	g.Go(func() (err error) { my, err = sandbox.StartMariaDB(gctx, spec); return err })
	err = g.Wait()
	defer func() {
		for _, c := range []*sandbox.Cluster{pg, my} {
			if c != nil {
				if stopErr := c.Stop(); stopErr != nil && err == nil {
					err = stopErr
				}
			}
		}
	}()
	if err != nil {
		return fmt.Errorf("demo: %w", err)
	}

	cfg, err := buildConfig(dir, opts, pg, my, controlPassword)
	if err != nil {
		return err
	}
	configPath := filepath.Join(dir, "shardgate.yaml")
	if err := writeConfig(configPath, cfg); err != nil {
		return err
	}
	// Read it back as `shardgate serve` would: the file is the contract.
	cfg, err = config.Load(configPath)
	if err != nil {
		return fmt.Errorf("demo: the written config does not load: %w", err)
	}
	records, err := filestore.Open(cfg.Store.Path, filestore.Options{})
	if err != nil {
		return err
	}
	st := shardmap.NewStore(records)
	_, _, err = st.Init(ctx, *cfg.Topology)
	if err != nil {
		return fmt.Errorf("demo: init store: %w", err)
	}
	// Both sides are seeded through the proxy once it serves: the tables
	// with plain CREATE TABLE, the rows with multi-row INSERTs.

	log := zap.NewNop()
	if opts.Log != nil {
		log = opts.Log
	}
	rctx, stop := context.WithCancel(ctx)
	defer stop()
	var seedErr error
	err = proxy.Run(rctx, proxy.RunOptions{
		Config: cfg, Store: st, Log: log, DrainTimeout: 5 * time.Second,
		OnReady: func(a proxy.Addrs) {
			if seedErr = seedThroughProxy(rctx, a.Postgres); seedErr != nil {
				stop()
				return
			}
			if seedErr = seedMySQLThroughProxy(rctx, a.MySQL); seedErr != nil {
				stop()
				return
			}
			info := Info{PostgresAddr: a.Postgres, MySQLAddr: a.MySQL, AdminAddr: a.Admin, ConfigPath: configPath, StoreDir: cfg.Store.Path, Postgres: pg, MariaDB: my}
			printSummary(opts.Out, info, opts, time.Since(started))
			if opts.OnReady != nil {
				opts.OnReady(info)
			}
		},
	})
	if seedErr != nil {
		return seedErr
	}
	return err
}

// workDir returns the demo's folder and how to clean it up.
func workDir(dir string) (string, func(), error) {
	if dir == "" {
		d, err := os.MkdirTemp("", "shardgate-demo-")
		if err != nil {
			return "", nil, fmt.Errorf("demo: %w", err)
		}
		return d, func() { os.RemoveAll(d) }, nil
	}
	if ents, err := os.ReadDir(dir); err == nil && len(ents) > 0 {
		return "", nil, fmt.Errorf("demo: folder %s is not empty", dir)
	}
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return "", nil, fmt.Errorf("demo: %w", err)
	}
	abs, err := filepath.Abs(dir)
	if err != nil {
		return "", nil, fmt.Errorf("demo: %w", err)
	}
	return abs, func() {}, nil
}

func randomPassword() (string, error) {
	b := make([]byte, 16)
	if _, err := rand.Read(b); err != nil {
		return "", fmt.Errorf("demo: %w", err)
	}
	return hex.EncodeToString(b), nil
}

// buildConfig writes the secrets and returns the demo's proxy config.
func buildConfig(dir string, opts Options, pg, my *sandbox.Cluster, controlPassword string) (*config.Config, error) {
	secrets := filepath.Join(dir, "secrets")
	if err := os.MkdirAll(secrets, 0o700); err != nil {
		return nil, fmt.Errorf("demo: %w", err)
	}
	for name, value := range map[string]string{"app-password": Password, "control-password": controlPassword} {
		if err := os.WriteFile(filepath.Join(secrets, name), []byte(value+"\n"), 0o600); err != nil {
			return nil, fmt.Errorf("demo: %w", err)
		}
	}
	if err := os.MkdirAll(filepath.Join(dir, "tls"), 0o700); err != nil {
		return nil, fmt.Errorf("demo: %w", err)
	}
	if err := selfsign.WriteFiles(filepath.Join(dir, "tls", "server.crt"), filepath.Join(dir, "tls", "server.key"), nil); err != nil {
		return nil, fmt.Errorf("demo: certificate: %w", err)
	}
	v, err := auth.NewVerifiers(Password)
	if err != nil {
		return nil, err
	}
	backend := func() *config.Backend {
		return &config.Backend{
			User: User, PasswordFile: "secrets/app-password",
			ControlUser: controlUser, ControlPasswordFile: "secrets/control-password",
		}
	}
	cfg := &config.Config{
		ProxyID: "demo",
		Listeners: config.Listeners{
			Postgres: &config.Listener{Address: hostPort(opts.PostgresPort), TLS: config.ServerTLS{
				Mode: config.ServerTLSPrefer, CertFile: "tls/server.crt", KeyFile: "tls/server.key"}},
			// TLS lets MySQL 8 clients log in with caching_sha2_password.
			MySQL: &config.Listener{Address: hostPort(opts.MySQLPort), TLS: config.ServerTLS{
				Mode: config.ServerTLSPrefer, CertFile: "tls/server.crt", KeyFile: "tls/server.key"}},
			Admin: &config.AdminListener{Address: hostPort(opts.AdminPort)},
		},
		Users:    []config.User{config.UserFromVerifiers(User, v)},
		Backends: config.Backends{Postgres: backend(), MySQL: backend()},
		Store:    config.Store{Type: config.StoreFile, Path: "store"},
		// Reads go to the replicas, each session seeing its own writes.
		Replicas: config.Replicas{Read: config.ReadReplicas},
		Topology: &shardmap.MapSpec{Keyspaces: []shardmap.KeyspaceSpec{
			keyspaceOf(shardmap.Postgres, pg, "pg"),
			keyspaceOf(shardmap.MySQL, my, "my"),
		}},
	}
	cfg.EnsureDefaults()
	if err := cfg.Validate(); err != nil {
		return nil, fmt.Errorf("demo: config: %w", err)
	}
	return cfg, nil
}

func hostPort(p int) string { return net.JoinHostPort("127.0.0.1", strconv.Itoa(p)) }

func keyspaceOf(e shardmap.Engine, c *sandbox.Cluster, prefix string) shardmap.KeyspaceSpec {
	ks := shardmap.KeyspaceSpec{Name: Keyspace, Engine: e, Database: Database, ReferenceTables: []string{"products"}}
	for _, t := range tables {
		if t.column != "" {
			ks.Tables = append(ks.Tables, shardmap.TableSpec{Name: t.name, Column: t.column, Type: "bigint"})
		}
	}
	if e == shardmap.Postgres {
		// orders.id comes from a block-allocated sequence kept on the
		// first shard: INSERTs through the proxy leave it out.
		ks.Generators = []shardmap.GeneratorSpec{{Name: "orders_id", Kind: shardmap.Sequence, Block: 100}}
		for i := range ks.Tables {
			if ks.Tables[i].Name == "orders" {
				ks.Tables[i].Generated = &shardmap.GeneratedSpec{Column: "id", Generator: "orders_id"}
			}
		}
	}
	node := func(n *sandbox.Node, name string) shardmap.NodeSpec {
		return shardmap.NodeSpec{Name: name, Host: n.Host, Port: n.Port}
	}
	for i, sh := range c.Shards {
		s := shardmap.ShardSpec{KeyRange: keyRanges[i], Primary: node(sh.Primary, fmt.Sprintf("%s%d", prefix, i))}
		for j, r := range sh.Replicas {
			s.Replicas = append(s.Replicas, node(r, fmt.Sprintf("%s%d-r%d", prefix, i, j+1)))
		}
		ks.Shards = append(ks.Shards, s)
	}
	return ks
}

func writeConfig(path string, cfg *config.Config) error {
	body, err := cfg.Marshal()
	if err != nil {
		return err
	}
	head := "# Written by `shardgate demo`. Serve it with: shardgate serve -c " + path + "\n"
	if err := os.WriteFile(path, append([]byte(head), body...), 0o600); err != nil {
		return fmt.Errorf("demo: %w", err)
	}
	return nil
}
