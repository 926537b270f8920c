package sandbox

import (
	"context"
	"errors"
	"fmt"
	"os"
	"strings"
	"sync"
	"time"
)

// Node is one database server of a cluster.
type Node struct {
	Name   string // "shard0-primary", "shard0-replica1", …
	Engine Engine
	Role   Role
	Shard  int
	Host   string // always "127.0.0.1"
	// Port is the node's TCP port on Host. It stays the same across
	// Stop/Kill and Start.
	Port    int
	Dir     string // the node's folder: data folder, socket, log
	DataDir string
	Socket  string // unix socket the admin connects through
	LogFile string // the server's log

	c        *Cluster
	primary  *Node // nil on a primary
	serverID int   // MariaDB server_id, unique in the cluster
	lease    *portLease

	mu     sync.Mutex // guards proc and closed, and serializes Start/Stop/Kill
	proc   *process
	closed bool
}

func (n *Node) String() string {
	return fmt.Sprintf("%s %s %s:%d", n.Engine, n.Name, n.Host, n.Port)
}

// DSN is a connection string for the node's driver: a pgx URL
// ("postgres://user:password@127.0.0.1:port/database?sslmode=disable") or a
// go-sql-driver/mysql DSN ("user:password@tcp(127.0.0.1:port)/database").
func (n *Node) DSN(user, password, database string) string {
	return n.c.flavor.dsn(n, user, password, database)
}

// AdminDSN is a connection string for the engine's superuser over the node's
// unix socket, without a password: Postgres's "postgres" (trust
// authentication on the socket) or MariaDB's root (unix_socket
// authentication, which requires the caller to be the OS user running the
// servers, here root).
func (n *Node) AdminDSN(database string) string {
	return n.c.flavor.adminDSN(n, database)
}

// Exec runs one statement as the superuser in the cluster's database.
// Placeholders are the engine's own ($1 for Postgres, ? for MariaDB).
func (n *Node) Exec(ctx context.Context, query string, args ...any) error {
	if err := n.c.flavor.exec(ctx, n, n.c.Database, query, args...); err != nil {
		return fmt.Errorf("%s: %w", n.Name, err)
	}
	return nil
}

// PID is the server's process id, or 0 when it is not running.
func (n *Node) PID() int {
	n.mu.Lock()
	defer n.mu.Unlock()
	if n.proc == nil || n.proc.exited() {
		return 0
	}
	return n.proc.pid()
}

// Start starts a stopped or killed node again, on the same port and data,
// and waits until it accepts connections (a killed node recovers first). A
// replica resumes following its primary. Start on a running node does
// nothing. Without a deadline in ctx, Start gives up after a minute.
func (n *Node) Start(ctx context.Context) error {
	n.mu.Lock()
	defer n.mu.Unlock()
	if n.closed {
		return errClusterStopped
	}
	if n.proc != nil && !n.proc.exited() {
		return nil
	}
	n.proc = nil
	ctx, cancel := withDefaultTimeout(ctx, time.Minute)
	defer cancel()
	return n.launch(ctx, false)
}

// Stop shuts the node down cleanly (Postgres: fast shutdown by SIGINT;
// MariaDB: SIGTERM) and waits for every one of its processes to exit. If
// ctx ends first (default: after 30 seconds) the node is killed instead and
// Stop reports that.
func (n *Node) Stop(ctx context.Context) error {
	n.mu.Lock()
	defer n.mu.Unlock()
	ctx, cancel := withDefaultTimeout(ctx, 30*time.Second)
	defer cancel()
	return n.stopLocked(ctx)
}

// Kill simulates a crash: SIGKILL to the server and, right after, to every
// process it left (Postgres backends), then waits until all are gone.
func (n *Node) Kill() error {
	n.mu.Lock()
	defer n.mu.Unlock()
	if n.proc == nil {
		return nil
	}
	n.proc.kill()
	n.proc = nil
	if err := reapUnder(n.Dir, 0); err != nil {
		return fmt.Errorf("kill %s: %w", n.Name, err)
	}
	return nil
}

func (n *Node) stopLocked(ctx context.Context) error {
	if n.proc == nil {
		return nil
	}
	err := n.proc.stop(ctx, n.c.flavor.stopSignal())
	n.proc = nil
	// A clean shutdown leaves nothing; after a kill, what is left goes too.
	grace := 2 * time.Second
	if err != nil {
		grace = 0
	}
	if rerr := reapUnder(n.Dir, grace); rerr != nil {
		err = errors.Join(err, rerr)
	}
	if err != nil {
		return fmt.Errorf("stop %s: %w", n.Name, err)
	}
	return nil
}

// close stops the node for good; Cluster.Stop calls it.
func (n *Node) close(ctx context.Context) error {
	n.mu.Lock()
	defer n.mu.Unlock()
	n.closed = true
	return n.stopLocked(ctx)
}

// launch starts the server process and waits until it accepts connections.
// With newPorts, a server that fails because its port was taken meanwhile
// is retried on a fresh port: right for a node's first start, when nothing
// knows its port yet. On failure nothing of the node keeps running and the
// error carries the tail of the server log. n.mu must be held or the node
// not yet shared.
func (n *Node) launch(ctx context.Context, newPorts bool) error {
	for attempt := 1; ; attempt++ {
		p, logStart, err := n.spawn()
		if err != nil {
			return fmt.Errorf("%s: %w", n.Name, err)
		}
		err = n.waitReady(ctx, p)
		if err == nil {
			n.proc = p
			return nil
		}
		exitedOnItsOwn := p.exited()
		p.kill()
		_ = reapUnder(n.Dir, 0)
		portTaken := strings.Contains(fileSince(n.LogFile, logStart), "Address already in use")
		if newPorts && exitedOnItsOwn && portTaken && attempt < 4 && ctx.Err() == nil {
			lease, lerr := leasePort()
			if lerr != nil {
				return fmt.Errorf("%s: %w", n.Name, lerr)
			}
			n.lease.release()
			n.setLease(lease)
			continue
		}
		return fmt.Errorf("%s (port %d): %w\n--- tail of %s ---\n%s",
			n.Name, n.Port, err, n.LogFile, fileTail(n.LogFile, 3000))
	}
}

func (n *Node) setLease(l *portLease) {
	n.lease = l
	n.Port = l.Port
	n.Socket = n.c.flavor.socket(n)
}

func (n *Node) spawn() (p *process, logStart int64, err error) {
	cmd, err := n.c.flavor.serverCmd(n)
	if err != nil {
		return nil, 0, err
	}
	logf, err := os.OpenFile(n.LogFile, os.O_WRONLY|os.O_CREATE|os.O_APPEND, 0o644)
	if err != nil {
		return nil, 0, err
	}
	defer logf.Close() // the child keeps its own descriptor
	if err := n.c.chown(n.LogFile); err != nil {
		return nil, 0, err
	}
	logStart = fileSize(n.LogFile)
	cmd.Stdout, cmd.Stderr = logf, logf
	cmd.Dir = n.Dir
	cmd.SysProcAttr = sysProcAttr(n.c.runAs)
	p, err = startProcess(n.c.spawner, cmd)
	return p, logStart, err
}

// waitReady polls the server until a connection succeeds, the process
// exits, or ctx ends.
func (n *Node) waitReady(ctx context.Context, p *process) error {
	delay := 10 * time.Millisecond
	for {
		if p.exited() {
			return fmt.Errorf("server exited while starting: %v", p.err)
		}
		pctx, cancel := context.WithTimeout(ctx, 2*time.Second)
		err := n.c.flavor.ping(pctx, n)
		cancel()
		if err == nil {
			return nil
		}
		select {
		case <-p.done:
		case <-ctx.Done():
			return fmt.Errorf("not ready: %w (last attempt: %v)", ctx.Err(), err)
		case <-time.After(delay):
		}
		delay = min(2*delay, 100*time.Millisecond)
	}
}

func withDefaultTimeout(ctx context.Context, d time.Duration) (context.Context, context.CancelFunc) {
	if _, ok := ctx.Deadline(); ok {
		return ctx, func() {}
	}
	return context.WithTimeout(ctx, d)
}
