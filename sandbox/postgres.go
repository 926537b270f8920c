package sandbox

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/url"
	"os"
	"os/exec"
	"os/user"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"syscall"
	"time"

	"github.com/jackc/pgx/v5"
)

// pgSuperuser is the bootstrap superuser initdb creates (-U).
const pgSuperuser = "postgres"

// postgres runs Postgres nodes: a primary from initdb, replicas from
// pg_basebackup, each server a direct child `postgres -D data` (not pg_ctl,
// which would detach it from us and from its parent-death signal).
type postgres struct {
	c      *Cluster
	bindir string
}

func newPostgres(c *Cluster) (*postgres, error) {
	bindir, cred, err := findPostgres()
	if err != nil {
		return nil, err
	}
	c.runAs = cred
	return &postgres{c: c, bindir: bindir}, nil
}

// findPostgres locates the server binaries and, when we are root (Postgres
// refuses to run as root), the OS user to run them as.
func findPostgres() (bindir string, cred *syscall.Credential, err error) {
	bindir, err = pgBindir()
	if err != nil {
		return "", nil, err
	}
	for _, tool := range []string{"postgres", "initdb", "pg_basebackup"} {
		if _, err := os.Stat(filepath.Join(bindir, tool)); err != nil {
			return "", nil, fmt.Errorf("postgres: %w", err)
		}
	}
	if os.Geteuid() != 0 {
		return bindir, nil, nil
	}
	u, err := user.Lookup("postgres")
	if err != nil {
		return "", nil, fmt.Errorf("postgres refuses to run as root and there is no postgres OS user: %w", err)
	}
	uid, err1 := strconv.ParseUint(u.Uid, 10, 32)
	gid, err2 := strconv.ParseUint(u.Gid, 10, 32)
	if err := errors.Join(err1, err2); err != nil {
		return "", nil, err
	}
	return bindir, &syscall.Credential{Uid: uint32(uid), Gid: uint32(gid)}, nil
}

// pgBindir asks pg_config, then falls back to the newest Debian-style
// /usr/lib/postgresql/N/bin.
func pgBindir() (string, error) {
	if out, err := exec.Command("pg_config", "--bindir").Output(); err == nil {
		dir := strings.TrimSpace(string(out))
		if _, err := os.Stat(filepath.Join(dir, "postgres")); err == nil {
			return dir, nil
		}
	}
	dirs, _ := filepath.Glob("/usr/lib/postgresql/*/bin/postgres")
	slices.SortFunc(dirs, func(a, b string) int {
		va, _ := strconv.Atoi(filepath.Base(filepath.Dir(filepath.Dir(a))))
		vb, _ := strconv.Atoi(filepath.Base(filepath.Dir(filepath.Dir(b))))
		return va - vb
	})
	if len(dirs) == 0 {
		return "", errors.New("postgres: no server binaries (pg_config --bindir, /usr/lib/postgresql/*/bin)")
	}
	return filepath.Dir(dirs[len(dirs)-1]), nil
}

func (pg *postgres) command(n *Node, tool string, args ...string) *exec.Cmd {
	cmd := exec.Command(filepath.Join(pg.bindir, tool), args...)
	cmd.Dir = n.Dir
	cmd.Env = []string{
		"PATH=" + pg.bindir + ":/usr/bin:/bin",
		"LANG=C.UTF-8",
		"TZ=UTC", // spares initdb its time zone search
		"HOME=" + n.Dir,
	}
	cmd.SysProcAttr = sysProcAttr(pg.c.runAs)
	return cmd
}

func (pg *postgres) startPrimary(ctx context.Context, n *Node) error {
	err := runCommand(ctx, pg.c.spawner, pg.command(n, "initdb",
		"-D", n.DataDir, "-U", pgSuperuser,
		"--auth-local=trust", "--auth-host=scram-sha-256",
		"-E", "UTF8", "--locale=C.UTF-8", "--no-sync", "--no-instructions"))
	if err != nil {
		return fmt.Errorf("%s: %w", n.Name, err)
	}
	if err := pg.writeConfig(n); err != nil {
		return fmt.Errorf("%s: %w", n.Name, err)
	}
	if err := n.launch(ctx, true); err != nil {
		return err
	}
	if err := pg.setup(ctx, n); err != nil {
		return fmt.Errorf("%s: set up: %w", n.Name, err)
	}
	return nil
}

// writeConfig adds the sandbox's settings to a fresh primary. Replicas copy
// them with the base backup; what differs per node goes to node.conf.
func (pg *postgres) writeConfig(n *Node) error {
	settings := [][2]string{
		{"listen_addresses", "127.0.0.1"},
		{"max_connections", "200"},
		{"wal_level", "logical"},
		{"max_wal_senders", "10"},
		{"max_replication_slots", "10"},
		{"max_prepared_transactions", "64"},
		{"hot_standby_feedback", "on"},
		// Durability is not a sandbox's job; speed is.
		{"fsync", "off"},
		{"synchronous_commit", "off"},
		{"full_page_writes", "off"},
		// With synchronous_commit off, WAL reaches replicas when the WAL
		// writer flushes it: every 200ms by default.
		{"wal_writer_delay", "10ms"},
		// A replica whose primary went away retries after this (default 5s);
		// tests restart primaries.
		{"wal_retrieve_retry_interval", "100ms"},
		// Replicas are cloned at once: one clone's fast checkpoint could
		// recycle a WAL segment another clone is about to stream before its
		// slot holds it ("requested WAL segment … has already been
		// removed"). Keeping some WAL closes that window.
		{"wal_keep_size", "256MB"},
	}
	keys := make([]string, 0, len(pg.c.spec.Settings))
	for k := range pg.c.spec.Settings {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	for _, k := range keys {
		settings = append(settings, [2]string{k, pg.c.spec.Settings[k]})
	}
	var b strings.Builder
	b.WriteString("\n# --- shardgate sandbox ---\n")
	for _, kv := range settings {
		fmt.Fprintf(&b, "%s = %s\n", kv[0], pgConfQuote(kv[1]))
	}
	b.WriteString("# Per node (port, socket, replication source), rewritten on every start.\ninclude = 'node.conf'\n")
	f, err := os.OpenFile(filepath.Join(n.DataDir, "postgresql.conf"), os.O_WRONLY|os.O_APPEND, 0)
	if err != nil {
		return err
	}
	if _, err := f.WriteString(b.String()); err != nil {
		f.Close()
		return err
	}
	if err := f.Close(); err != nil {
		return err
	}
	hba := "" +
		"# shardgate sandbox: trust on the private socket, passwords over TCP\n" +
		"local all         all trust\n" +
		"local replication all trust\n" +
		"host  all         all 127.0.0.1/32 scram-sha-256\n" +
		"host  replication all 127.0.0.1/32 scram-sha-256\n"
	return pg.writeFile(filepath.Join(n.DataDir, "pg_hba.conf"), hba)
}

func (pg *postgres) writeFile(path, content string) error {
	if err := os.WriteFile(path, []byte(content), 0o600); err != nil {
		return err
	}
	return pg.c.chown(path)
}

// setup creates the replication account, the users and the database.
func (pg *postgres) setup(ctx context.Context, n *Node) error {
	spec := pg.c.spec
	var names []string
	for _, u := range spec.Users {
		names = append(names, pgIdent(u.Name))
	}
	all := strings.Join(names, ", ")
	stmts := []string{
		fmt.Sprintf("CREATE ROLE %s LOGIN REPLICATION PASSWORD %s", pgIdent(replUser), pgLiteral(pg.c.replPassword)),
	}
	for _, u := range spec.Users {
		super := ""
		if u.Superuser {
			super = " SUPERUSER"
		}
		stmts = append(stmts,
			fmt.Sprintf("CREATE ROLE %s LOGIN%s PASSWORD %s", pgIdent(u.Name), super, pgLiteral(u.Password)),
			fmt.Sprintf("GRANT pg_monitor TO %s", pgIdent(u.Name)))
	}
	db := pgIdent(spec.Database)
	stmts = append(stmts,
		fmt.Sprintf("CREATE DATABASE %s OWNER %s", db, names[0]),
		fmt.Sprintf("GRANT ALL ON DATABASE %s TO %s", db, all))
	if err := pg.execAll(ctx, n, "postgres", stmts); err != nil {
		return err
	}
	// Since PG15 only the database owner may create in public. Let every
	// user in, and let every user use what any user or the admin creates.
	creators := pgIdent(pgSuperuser) + ", " + all
	return pg.execAll(ctx, n, spec.Database, []string{
		fmt.Sprintf("GRANT ALL ON SCHEMA public TO %s", all),
		fmt.Sprintf("ALTER DEFAULT PRIVILEGES FOR ROLE %s IN SCHEMA public GRANT ALL ON TABLES TO %s", creators, all),
		fmt.Sprintf("ALTER DEFAULT PRIVILEGES FOR ROLE %s IN SCHEMA public GRANT ALL ON SEQUENCES TO %s", creators, all),
	})
}

func (pg *postgres) startReplica(ctx context.Context, r *Node, ready <-chan struct{}) error {
	select {
	case <-ready:
	case <-ctx.Done():
		return ctx.Err()
	}
	p := r.primary
	// A slot keeps the primary's WAL for a replica that is down, so that
	// Stop/Kill and Start of a replica never need a new base backup.
	cmd := pg.command(r, "pg_basebackup",
		"-h", p.Host, "-p", strconv.Itoa(p.Port), "-U", replUser, "-D", r.DataDir,
		"-X", "stream", "--checkpoint=fast", "--no-sync", "-C", "-S", pgSlot(r))
	cmd.Env = append(cmd.Env, "PGPASSWORD="+pg.c.replPassword)
	if err := runCommand(ctx, pg.c.spawner, cmd); err != nil {
		return fmt.Errorf("%s: %w", r.Name, err)
	}
	if err := pg.writeFile(filepath.Join(r.DataDir, "standby.signal"), ""); err != nil {
		return fmt.Errorf("%s: %w", r.Name, err)
	}
	if err := r.launch(ctx, true); err != nil {
		return err
	}
	return pg.waitReplayed(ctx, r)
}

// replayTarget flushes the primary's WAL and returns the flush position.
//
// The flush is a synchronous commit of a transaction that wrote WAL: a
// transactional logical-decoding message. A transaction with only an xid
// would not do, as Postgres flushes at commit only if the transaction wrote
// WAL before its commit record. The message is emitted in the "postgres"
// database, and decoders skip messages of other databases, so logical
// replication of the cluster's database never sees it.
func (pg *postgres) replayTarget(ctx context.Context, p *Node) (string, error) {
	conn, err := pg.connect(ctx, p, "postgres")
	if err != nil {
		return "", err
	}
	defer conn.Close(context.WithoutCancel(ctx))
	if _, err := conn.Exec(ctx, "BEGIN; SET LOCAL synchronous_commit = on; "+
		"SELECT pg_logical_emit_message(true, 'shardgate-sandbox', 'flush'); COMMIT"); err != nil {
		return "", err
	}
	var target string
	err = conn.QueryRow(ctx, "SELECT pg_current_wal_flush_lsn()::text").Scan(&target)
	return target, err
}

func pgSlot(r *Node) string { return strings.ReplaceAll(r.Name, "-", "_") }

func (pg *postgres) serverCmd(n *Node) (*exec.Cmd, error) {
	conf := fmt.Sprintf("port = %d\nunix_socket_directories = %s\n", n.Port, pgConfQuote(n.Dir))
	if p := n.primary; p != nil {
		// Here rather than pg_basebackup -R's postgresql.auto.conf, so it
		// follows the node (application_name shows in pg_stat_replication).
		conninfo := fmt.Sprintf("host=%s port=%d user=%s password=%s application_name=%s",
			p.Host, p.Port, replUser, pg.c.replPassword, n.Name)
		conf += fmt.Sprintf("primary_conninfo = %s\nprimary_slot_name = %s\n", pgConfQuote(conninfo), pgConfQuote(pgSlot(n)))
	}
	if err := pg.writeFile(filepath.Join(n.DataDir, "node.conf"), conf); err != nil {
		return nil, err
	}
	return pg.command(n, "postgres", "-D", n.DataDir), nil
}

func (pg *postgres) socket(n *Node) string {
	return filepath.Join(n.Dir, fmt.Sprintf(".s.PGSQL.%d", n.Port))
}

// stopSignal asks for a fast shutdown: roll back sessions, checkpoint, exit.
func (pg *postgres) stopSignal() syscall.Signal { return syscall.SIGINT }

func (pg *postgres) connect(ctx context.Context, n *Node, database string) (*pgx.Conn, error) {
	cfg, err := pgx.ParseConfig(pg.adminDSN(n, database))
	if err != nil {
		return nil, err
	}
	cfg.ConnectTimeout = 2 * time.Second
	return pgx.ConnectConfig(ctx, cfg)
}

func (pg *postgres) ping(ctx context.Context, n *Node) error {
	conn, err := pg.connect(ctx, n, "postgres")
	if err != nil {
		return err
	}
	return conn.Close(context.WithoutCancel(ctx))
}

func (pg *postgres) exec(ctx context.Context, n *Node, database, query string, args ...any) error {
	conn, err := pg.connect(ctx, n, database)
	if err != nil {
		return err
	}
	defer conn.Close(context.WithoutCancel(ctx))
	_, err = conn.Exec(ctx, query, args...)
	return err
}

func (pg *postgres) execAll(ctx context.Context, n *Node, database string, stmts []string) error {
	conn, err := pg.connect(ctx, n, database)
	if err != nil {
		return err
	}
	defer conn.Close(context.WithoutCancel(ctx))
	for _, s := range stmts {
		if _, err := conn.Exec(ctx, s); err != nil {
			return fmt.Errorf("%.60s…: %w", s, err)
		}
	}
	return nil
}

// waitReplayed polls until r's replay position reaches the primary's WAL
// flush position, taken on entry right after flushing everything written so
// far. A plain pg_current_wal_lsn() is no target: with synchronous_commit
// off a commit returns before its record is written, so the write position
// can stop short of the last commits. Nor is pg_current_wal_insert_lsn():
// at a page boundary it counts the next page's header, which replay only
// passes once more WAL comes.
func (pg *postgres) waitReplayed(ctx context.Context, r *Node) error {
	target, err := pg.replayTarget(ctx, r.primary)
	if err != nil {
		return fmt.Errorf("primary: %w", err)
	}
	rconn, err := pg.connect(ctx, r, "postgres")
	if err != nil {
		return err
	}
	defer rconn.Close(context.WithoutCancel(ctx))
	for {
		var done *bool
		if err := rconn.QueryRow(ctx, "SELECT pg_last_wal_replay_lsn() >= $1::pg_lsn", target).Scan(&done); err != nil {
			return err
		}
		if done == nil {
			return errors.New("not in recovery: promoted, or not a replica")
		}
		if *done {
			return nil
		}
		select {
		case <-ctx.Done():
			return fmt.Errorf("replay did not reach %s: %w", target, ctx.Err())
		case <-time.After(10 * time.Millisecond):
		}
	}
}

func (pg *postgres) dsn(n *Node, user, password, database string) string {
	u := url.URL{
		Scheme:   "postgres",
		User:     url.UserPassword(user, password),
		Host:     net.JoinHostPort(n.Host, strconv.Itoa(n.Port)),
		Path:     "/" + database,
		RawQuery: "sslmode=disable",
	}
	return u.String()
}

func (pg *postgres) adminDSN(n *Node, database string) string {
	return fmt.Sprintf("host=%s port=%d user=%s dbname=%s sslmode=disable",
		pgConnQuote(n.Dir), n.Port, pgSuperuser, pgConnQuote(database))
}

// pgConfQuote quotes a postgresql.conf value; every value may be quoted.
func pgConfQuote(v string) string {
	return "'" + strings.NewReplacer(`\`, `\\`, `'`, `''`).Replace(v) + "'"
}

// pgConnQuote quotes a libpq keyword/value connection string value.
func pgConnQuote(v string) string {
	return "'" + strings.NewReplacer(`\`, `\\`, `'`, `\'`).Replace(v) + "'"
}

func pgIdent(s string) string { return pgx.Identifier{s}.Sanitize() }

// pgLiteral quotes a string literal; standard_conforming_strings is on.
func pgLiteral(s string) string { return "'" + strings.ReplaceAll(s, "'", "''") + "'" }
