package sandbox

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"sync"
	"syscall"
	"time"

	"golang.org/x/sync/errgroup"
)

// Cluster is a set of shards, each a primary with its replicas, all of one
// engine. Its methods are safe for concurrent use.
type Cluster struct {
	Engine   Engine
	Dir      string // the folder every node lives in
	Database string
	Users    []User
	Shards   []Shard

	spec         Spec
	flavor       flavor
	spawner      *spawner
	runAs        *syscall.Credential // servers' OS user when it is not ours
	ownsDir      bool
	replPassword string

	stopOnce sync.Once
	stopErr  error
}

// Shard is one primary and its replicas.
type Shard struct {
	Primary  *Node
	Replicas []*Node
}

// flavor is what differs between engines. Each flavor orders its own
// replica setup, because the engines need different things first: a
// Postgres replica is cloned from its running primary, a MariaDB replica is
// a fresh server that is then pointed at it.
type flavor interface {
	// startPrimary creates, starts and sets up a primary: replication
	// account, Spec.Users, Spec.Database.
	startPrimary(ctx context.Context, p *Node) error
	// startReplica brings up r; ready is closed once its primary is set up.
	// It returns once r has replayed the primary's setup.
	startReplica(ctx context.Context, r *Node, ready <-chan struct{}) error
	// waitReplayed waits until r has replayed all that its primary had
	// written when waitReplayed was called.
	waitReplayed(ctx context.Context, r *Node) error
	// serverCmd is the server command for n's next start. It may write
	// per-node configuration that depends on n.Port.
	serverCmd(n *Node) (*exec.Cmd, error)
	// socket is the path of n's unix socket, which may depend on n.Port.
	socket(n *Node) string
	stopSignal() syscall.Signal
	ping(ctx context.Context, n *Node) error
	exec(ctx context.Context, n *Node, database, query string, args ...any) error
	dsn(n *Node, user, password, database string) string
	adminDSN(n *Node, database string) string
}

// StartPostgres starts a Postgres cluster shaped by spec and returns once
// every node is ready and every replica caught up. Without a deadline in
// ctx it gives up after two minutes. On failure everything it started is
// stopped again and the error carries the tail of the failing server's log.
func StartPostgres(ctx context.Context, spec Spec) (*Cluster, error) {
	return start(ctx, Postgres, spec)
}

// StartMariaDB is StartPostgres for MariaDB.
func StartMariaDB(ctx context.Context, spec Spec) (*Cluster, error) {
	return start(ctx, MariaDB, spec)
}

// Available reports why clusters of engine e cannot be started here, or nil
// if they can, so that tests can skip instead of fail.
func Available(e Engine) error {
	switch e {
	case Postgres:
		_, _, err := findPostgres()
		return err
	case MariaDB:
		_, err := findMariaDB()
		return err
	default:
		return fmt.Errorf("sandbox: unknown engine %v", e)
	}
}

func start(ctx context.Context, e Engine, spec Spec) (*Cluster, error) {
	ctx, cancel := withDefaultTimeout(ctx, 2*time.Minute)
	defer cancel()
	c, err := newCluster(e, spec)
	if err != nil {
		return nil, fmt.Errorf("sandbox: start %v cluster: %w", e, err)
	}
	if err := c.boot(ctx); err != nil {
		return nil, errors.Join(fmt.Errorf("sandbox: start %v cluster: %w", e, err), c.Stop())
	}
	return c, nil
}

// newCluster lays a cluster out: its folder, its nodes' folders and ports.
// Nothing runs yet; on error nothing is left.
func newCluster(e Engine, spec Spec) (_ *Cluster, err error) {
	spec, err = spec.withDefaults(e)
	if err != nil {
		return nil, err
	}
	c := &Cluster{Engine: e, Database: spec.Database, Users: spec.Users, spec: spec}
	switch e {
	case Postgres:
		c.flavor, err = newPostgres(c)
	case MariaDB:
		c.flavor, err = newMariaDB(c)
	default:
		err = fmt.Errorf("unknown engine %v", e)
	}
	if err != nil {
		return nil, err
	}
	c.replPassword = randomHex(16)
	c.spawner = newSpawner()
	if err := c.makeDir(spec.Dir); err != nil {
		return nil, errors.Join(err, c.Stop())
	}
	if err := c.makeNodes(); err != nil {
		return nil, errors.Join(err, c.Stop())
	}
	return c, nil
}

// boot starts every node: shards in parallel, and within a shard whatever
// the engine allows to overlap.
func (c *Cluster) boot(ctx context.Context) error {
	g, gctx := errgroup.WithContext(ctx)
	for _, sh := range c.Shards {
		ready := make(chan struct{})
		g.Go(func() error {
			if err := c.flavor.startPrimary(gctx, sh.Primary); err != nil {
				return err
			}
			close(ready)
			return nil
		})
		for _, r := range sh.Replicas {
			g.Go(func() error { return c.flavor.startReplica(gctx, r, ready) })
		}
	}
	return g.Wait()
}

// makeDir creates the cluster folder; see Spec.Dir.
func (c *Cluster) makeDir(dir string) error {
	if dir == "" {
		sweepStale(os.TempDir())
		d, err := os.MkdirTemp("", dirPrefix)
		if err != nil {
			return err
		}
		c.ownsDir = true
		c.Dir = d
		if err := writeOwner(d); err != nil {
			return err
		}
	} else {
		d, err := filepath.Abs(dir)
		if err != nil {
			return err
		}
		if entries, err := os.ReadDir(d); err == nil && len(entries) > 0 {
			return fmt.Errorf("Spec.Dir %s is not empty", d)
		}
		if err := os.MkdirAll(d, 0o755); err != nil {
			return err
		}
		c.Dir = d
	}
	// Leftover processes are found by their working directory, which the
	// kernel reports with symlinks resolved.
	if d, err := filepath.EvalSymlinks(c.Dir); err == nil {
		c.Dir = d
	}
	// Postgres runs as another user, who must be able to reach its folder.
	if err := os.Chmod(c.Dir, 0o755); err != nil {
		return err
	}
	if c.runAs != nil {
		return checkTraversable(filepath.Dir(c.Dir))
	}
	return nil
}

// checkTraversable reports a folder on the way to dir that other users
// cannot enter.
func checkTraversable(dir string) error {
	for d := dir; ; d = filepath.Dir(d) {
		st, err := os.Stat(d)
		if err != nil {
			return err
		}
		if st.Mode().Perm()&0o001 == 0 {
			return fmt.Errorf("%s is not searchable by other users (mode %v); the postgres user could not reach its data", d, st.Mode().Perm())
		}
		if d == filepath.Dir(d) {
			return nil
		}
	}
}

func (c *Cluster) makeNodes() error {
	id := 0
	newNode := func(shard int, role Role, name string) (*Node, error) {
		id++
		dir := filepath.Join(c.Dir, name)
		// Room for ".s.PGSQL.65535" or "mariadbd.sock" within sun_path.
		if len(dir) > 90 {
			return nil, fmt.Errorf("folder %s is too long to hold a unix socket", dir)
		}
		if err := os.Mkdir(dir, 0o700); err != nil {
			return nil, err
		}
		if err := c.chown(dir); err != nil {
			return nil, err
		}
		lease, err := leasePort()
		if err != nil {
			return nil, err
		}
		n := &Node{
			Name: name, Engine: c.Engine, Role: role, Shard: shard, Host: "127.0.0.1",
			Dir: dir, DataDir: filepath.Join(dir, "data"), LogFile: filepath.Join(dir, "server.log"),
			c: c, serverID: id,
		}
		n.setLease(lease)
		return n, nil
	}
	for s := range c.spec.Shards {
		p, err := newNode(s, Primary, fmt.Sprintf("shard%d-primary", s))
		if err != nil {
			return err
		}
		c.Shards = append(c.Shards, Shard{Primary: p})
		for r := 1; r <= c.spec.Replicas; r++ {
			n, err := newNode(s, Replica, fmt.Sprintf("shard%d-replica%d", s, r))
			if err != nil {
				return err
			}
			n.primary = p
			c.Shards[s].Replicas = append(c.Shards[s].Replicas, n)
		}
	}
	return nil
}

// chown gives path to the servers' OS user when that is not us.
func (c *Cluster) chown(path string) error {
	if c.runAs == nil {
		return nil
	}
	return os.Chown(path, int(c.runAs.Uid), int(c.runAs.Gid))
}

// Nodes lists every node, shard by shard, each primary before its replicas.
func (c *Cluster) Nodes() []*Node {
	var out []*Node
	for _, sh := range c.Shards {
		out = append(out, sh.Primary)
		out = append(out, sh.Replicas...)
	}
	return out
}

// WaitReplicated waits until every replica has replayed everything its
// primary had written when WaitReplicated was called. Without a deadline in
// ctx it gives up after 30 seconds.
func (c *Cluster) WaitReplicated(ctx context.Context) error {
	ctx, cancel := withDefaultTimeout(ctx, 30*time.Second)
	defer cancel()
	for _, sh := range c.Shards {
		if err := sh.WaitReplicated(ctx); err != nil {
			return err
		}
	}
	return nil
}

// WaitReplicated is Cluster.WaitReplicated for one shard.
func (s Shard) WaitReplicated(ctx context.Context) error {
	for _, r := range s.Replicas {
		ctx, cancel := withDefaultTimeout(ctx, 30*time.Second)
		err := r.c.flavor.waitReplayed(ctx, r)
		cancel()
		if err != nil {
			return fmt.Errorf("%s: %w", r.Name, err)
		}
	}
	return nil
}

// Stop stops every node (cleanly if it can, within 30 seconds), makes sure
// none of their processes is left, frees their ports and, unless Spec.Dir
// was given, removes the cluster folder. It is idempotent and safe to call
// concurrently; every call returns the first call's result.
func (c *Cluster) Stop() error {
	c.stopOnce.Do(func() { c.stopErr = c.stop() })
	return c.stopErr
}

func (c *Cluster) stop() error {
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	nodes := c.Nodes()
	errs := make([]error, len(nodes)+3)
	var wg sync.WaitGroup
	for i, n := range nodes {
		wg.Go(func() { errs[i] = n.close(ctx) })
	}
	wg.Wait()
	if c.Dir != "" {
		// Anything else still working in our folder (a tool interrupted by a
		// failed start) goes now.
		errs[len(nodes)] = reapUnder(c.Dir, time.Second)
	}
	c.spawner.close()
	for _, n := range nodes {
		n.lease.release()
	}
	if c.ownsDir {
		errs[len(nodes)+1] = os.RemoveAll(c.Dir)
	}
	if c.Dir != "" {
		if left := procsUnder(c.Dir); len(left) > 0 {
			errs[len(nodes)+2] = fmt.Errorf("processes %v still run in %s", left, c.Dir)
		}
	}
	if err := errors.Join(errs...); err != nil {
		return fmt.Errorf("sandbox: stop %v cluster: %w", c.Engine, err)
	}
	return nil
}

func randomHex(n int) string {
	b := make([]byte, n)
	_, _ = rand.Read(b) // crypto/rand.Read never fails on Linux
	return hex.EncodeToString(b)
}
