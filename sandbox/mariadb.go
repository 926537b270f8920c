package sandbox

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"net"
	"os"
	"os/exec"
	"os/user"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"syscall"
	"time"

	"github.com/go-sql-driver/mysql"
)

// mariadb runs MariaDB nodes: every node is a fresh mariadb-install-db data
// folder and a direct child mariadbd; replicas follow their primary by GTID
// from the start of its binlog.
type mariadb struct {
	c     *Cluster
	tools mariaTools
	// admin is the OS user running the servers and, through unix_socket
	// authentication, the MariaDB account the sandbox administers them as.
	admin string
}

type mariaTools struct{ server, installDB string }

func newMariaDB(c *Cluster) (*mariadb, error) {
	tools, err := findMariaDB()
	if err != nil {
		return nil, err
	}
	u, err := user.Current()
	if err != nil {
		return nil, err
	}
	return &mariadb{c: c, tools: tools, admin: u.Username}, nil
}

func findMariaDB() (mariaTools, error) {
	find := func(name string) (string, error) {
		if p, err := exec.LookPath(name); err == nil {
			return p, nil
		}
		for _, dir := range []string{"/usr/sbin", "/usr/bin", "/usr/local/sbin", "/usr/local/bin"} {
			if p := filepath.Join(dir, name); fileExists(p) {
				return p, nil
			}
		}
		return "", fmt.Errorf("mariadb: %s not found", name)
	}
	server, err1 := find("mariadbd")
	install, err2 := find("mariadb-install-db")
	return mariaTools{server: server, installDB: install}, errors.Join(err1, err2)
}

func fileExists(p string) bool {
	_, err := os.Stat(p)
	return err == nil
}

// tuning is the sandbox's defaults for every node, for mariadb-install-db's
// bootstrap server as well (file sizes are fixed there), followed by
// Spec.Settings, which override them because mariadbd lets a later option
// win.
func (m *mariadb) tuning(n *Node) []string {
	args := []string{
		// Concurrent bootstraps sharing /tmp clash on their temporary table
		// files (about half of four parallel mariadb-install-db runs fail
		// with "Unknown table 'mysql.tmp_user_sys'"): one tmpdir per node.
		"--tmpdir=" + m.tmpdir(n),
		"--skip-name-resolve",
		"--performance-schema=OFF",
		// Compressed binlog events are not decoded by binlog readers such
		// as vitess: keep them off even if defaults change.
		"--log-bin-compress=OFF",
		"--character-set-server=utf8mb4",
		"--collation-server=utf8mb4_general_ci",
		"--max-connections=200",
		"--innodb-buffer-pool-size=64M",
		"--innodb-log-file-size=32M",
		// Durability is not a sandbox's job; speed is.
		"--innodb-flush-log-at-trx-commit=2",
		"--innodb-doublewrite=OFF",
		"--sync-binlog=0",
	}
	keys := make([]string, 0, len(m.c.spec.Settings))
	for k := range m.c.spec.Settings {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	for _, k := range keys {
		if v := m.c.spec.Settings[k]; v != "" {
			args = append(args, "--"+k+"="+v)
		} else {
			args = append(args, "--"+k)
		}
	}
	return args
}

func (m *mariadb) tmpdir(n *Node) string { return filepath.Join(n.Dir, "tmp") }

func (m *mariadb) install(ctx context.Context, n *Node) error {
	if err := os.Mkdir(m.tmpdir(n), 0o700); err != nil {
		return fmt.Errorf("%s: %w", n.Name, err)
	}
	args := []string{"--no-defaults", // must come first
		"--datadir=" + n.DataDir,
		"--auth-root-authentication-method=socket",
		"--skip-test-db",
	}
	if os.Geteuid() == 0 {
		args = append(args, "--user=root")
	} else {
		args = append(args, "--auth-root-socket-user="+m.admin)
	}
	cmd := exec.Command(m.tools.installDB, append(args, m.tuning(n)...)...)
	cmd.Dir = n.Dir
	cmd.Env = m.env()
	cmd.SysProcAttr = sysProcAttr(nil)
	if err := runCommand(ctx, m.c.spawner, cmd); err != nil {
		return fmt.Errorf("%s: %w", n.Name, err)
	}
	return nil
}

func (m *mariadb) env() []string {
	return []string{"PATH=/usr/sbin:/usr/bin:/sbin:/bin", "LANG=C.UTF-8", "TZ=UTC"}
}

func (m *mariadb) startPrimary(ctx context.Context, n *Node) error {
	if err := m.install(ctx, n); err != nil {
		return err
	}
	if err := n.launch(ctx, true); err != nil {
		return err
	}
	if err := m.setup(ctx, n); err != nil {
		return fmt.Errorf("%s: set up: %w", n.Name, err)
	}
	return nil
}

// setup creates the replication account, the database and the users on a
// primary. The install-db bootstrap is not in the binlog, but these
// statements are: replicas replay them, which is how users reach replicas.
func (m *mariadb) setup(ctx context.Context, n *Node) error {
	spec := m.c.spec
	repl := mysqlAccount(replUser)
	stmts := []string{
		fmt.Sprintf("CREATE USER %s IDENTIFIED BY %s", repl, mysqlLiteral(m.c.replPassword)),
		fmt.Sprintf("GRANT REPLICATION SLAVE, REPLICATION CLIENT, SLAVE MONITOR ON *.* TO %s", repl),
		fmt.Sprintf("CREATE DATABASE %s", mysqlIdent(spec.Database)),
	}
	for _, u := range spec.Users {
		acct := mysqlAccount(u.Name)
		stmts = append(stmts, fmt.Sprintf("CREATE USER %s IDENTIFIED BY %s", acct, mysqlLiteral(u.Password)))
		if u.Superuser {
			stmts = append(stmts, fmt.Sprintf("GRANT ALL PRIVILEGES ON *.* TO %s WITH GRANT OPTION", acct))
			continue
		}
		// No SUPER or READ_ONLY ADMIN: read_only must hold them off replicas.
		stmts = append(stmts,
			fmt.Sprintf("GRANT ALL PRIVILEGES ON %s.* TO %s", mysqlIdent(spec.Database), acct),
			fmt.Sprintf("GRANT SLAVE MONITOR, BINLOG MONITOR ON *.* TO %s", acct))
	}
	db, err := m.open(n, "")
	if err != nil {
		return err
	}
	defer db.Close()
	for _, s := range stmts {
		if _, err := db.ExecContext(ctx, s); err != nil {
			return fmt.Errorf("%.60s…: %w", s, err)
		}
	}
	return nil
}

func (m *mariadb) startReplica(ctx context.Context, r *Node, ready <-chan struct{}) error {
	// A replica starts as a server of its own, in parallel with its primary.
	if err := m.install(ctx, r); err != nil {
		return err
	}
	if err := r.launch(ctx, true); err != nil {
		return err
	}
	select {
	case <-ready:
	case <-ctx.Done():
		return ctx.Err()
	}
	p := r.primary
	// slave_pos with an empty position replays the primary's binlog from
	// its first event. Nothing may be written on the replica before (with
	// gtid_strict_mode, a local GTID 0-<replica>-1 would make the primary's
	// 0-<primary>-1 out of order). read_only is on the command line so that
	// it holds from the first instant and across restarts.
	change := fmt.Sprintf("CHANGE MASTER TO MASTER_HOST=%s, MASTER_PORT=%d, MASTER_USER=%s, MASTER_PASSWORD=%s, "+
		"MASTER_USE_GTID=slave_pos, MASTER_CONNECT_RETRY=1",
		mysqlLiteral(p.Host), p.Port, mysqlLiteral(replUser), mysqlLiteral(m.c.replPassword))
	db, err := m.open(r, "")
	if err != nil {
		return err
	}
	defer db.Close()
	for _, s := range []string{change, "START SLAVE"} {
		if _, err := db.ExecContext(ctx, s); err != nil {
			return fmt.Errorf("%s: %.30s…: %w", r.Name, s, err)
		}
	}
	if err := m.waitReplayed(ctx, r); err != nil {
		return fmt.Errorf("%s: %w", r.Name, err)
	}
	return nil
}

func (m *mariadb) socket(n *Node) string { return filepath.Join(n.Dir, "mariadbd.sock") }

func (m *mariadb) serverCmd(n *Node) (*exec.Cmd, error) {
	args := []string{"--no-defaults", // must come first
		"--datadir=" + n.DataDir,
		"--bind-address=" + n.Host,
		"--port=" + strconv.Itoa(n.Port),
		"--socket=" + n.Socket,
		"--pid-file=" + filepath.Join(n.Dir, "mariadbd.pid"),
		"--log-error=" + n.LogFile,
		"--server-id=" + strconv.Itoa(n.serverID),
		"--log-bin=" + filepath.Join(n.DataDir, "bin"),
		"--relay-log=" + filepath.Join(n.DataDir, "relay"), // else named after the host
		"--binlog-format=ROW",
		"--log-slave-updates=ON",
		"--gtid-strict-mode=ON",
	}
	if os.Geteuid() == 0 {
		args = append(args, "--user=root")
	}
	if n.Role == Replica {
		args = append(args, "--read-only=ON")
	}
	cmd := exec.Command(m.tools.server, append(args, m.tuning(n)...)...)
	cmd.Env = m.env()
	return cmd, nil
}

func (m *mariadb) stopSignal() syscall.Signal { return syscall.SIGTERM }

func (m *mariadb) adminConfig(n *Node, database string) *mysql.Config {
	cfg := mysql.NewConfig()
	cfg.User = m.admin
	cfg.Net = "unix"
	cfg.Addr = n.Socket
	cfg.DBName = database
	cfg.Timeout = 2 * time.Second
	cfg.Logger = &mysql.NopLogger{} // failed polls are expected, not news
	return cfg
}

// open returns a one-connection pool for the admin over the socket.
func (m *mariadb) open(n *Node, database string) (*sql.DB, error) {
	connector, err := mysql.NewConnector(m.adminConfig(n, database))
	if err != nil {
		return nil, err
	}
	db := sql.OpenDB(connector)
	db.SetMaxOpenConns(1)
	return db, nil
}

func (m *mariadb) ping(ctx context.Context, n *Node) error {
	db, err := m.open(n, "")
	if err != nil {
		return err
	}
	defer db.Close()
	return db.PingContext(ctx)
}

func (m *mariadb) exec(ctx context.Context, n *Node, database, query string, args ...any) error {
	db, err := m.open(n, database)
	if err != nil {
		return err
	}
	defer db.Close()
	_, err = db.ExecContext(ctx, query, args...)
	return err
}

// waitReplayed waits with MASTER_GTID_WAIT for the primary's binlog position
// as of entry, in short rounds so that a broken replication is reported
// with its cause instead of a bare timeout.
func (m *mariadb) waitReplayed(ctx context.Context, r *Node) error {
	pdb, err := m.open(r.primary, "")
	if err != nil {
		return err
	}
	var pos string
	err = pdb.QueryRowContext(ctx, "SELECT @@GLOBAL.gtid_binlog_pos").Scan(&pos)
	pdb.Close()
	if err != nil {
		return fmt.Errorf("primary: %w", err)
	}
	db, err := m.open(r, "")
	if err != nil {
		return err
	}
	defer db.Close()
	for {
		var res int
		if err := db.QueryRowContext(ctx, "SELECT MASTER_GTID_WAIT(?, 0.5)", pos).Scan(&res); err != nil {
			return err
		}
		if res == 0 {
			return nil
		}
		st, err := slaveStatus(ctx, db)
		if err != nil {
			return err
		}
		if st["Last_SQL_Errno"] != "0" {
			return fmt.Errorf("replication SQL thread failed: %s", st["Last_SQL_Error"])
		}
		if ctx.Err() != nil {
			return fmt.Errorf("replay did not reach %s (at %s; IO: %s %s): %w",
				pos, st["Gtid_IO_Pos"], st["Slave_IO_Running"], st["Last_IO_Error"], ctx.Err())
		}
	}
}

// EnableSemiSync switches every shard of a MariaDB cluster to
// semi-synchronous replication: a commit on the primary is acknowledged to
// its client only once a replica has it in its relay log, and the wait
// comes after the binlog is synced, before the engine commits
// (rpl_semi_sync_master_wait_point = AFTER_SYNC): no other session sees a
// commit that no replica has. timeout is rpl_semi_sync_master_timeout,
// after which a primary without acknowledgment falls back to
// asynchronous replication; give it longer than the test (default 10
// minutes), so that a missing acknowledgment shows as a stall, never as
// a silent fallback.
//
// Every node gets the wait point, the timeout and
// rpl_semi_sync_slave_enabled, so that a replica promoted later
// (package failover turns rpl_semi_sync_master_enabled on for a
// semi-synchronous replica it promotes) is a semi-synchronous primary;
// only primaries get rpl_semi_sync_master_enabled: on a replica it would
// make its own applier wait for acknowledgments that never come (seen on
// 10.11: the replica stopped applying). Replicas restart their IO thread,
// which reads the setting when it connects. EnableSemiSync returns once
// every primary counts all its replicas as semi-synchronous clients.
//
// The settings are runtime ones (SET GLOBAL): a node restarted by Start
// comes back asynchronous. They are not server options from the start
// because the primary's own setup would then wait for replicas that do
// not exist yet.
func (c *Cluster) EnableSemiSync(ctx context.Context, timeout time.Duration) error {
	if c.Engine != MariaDB {
		return fmt.Errorf("sandbox: semi-synchronous replication is MariaDB's; this cluster is %v", c.Engine)
	}
	if timeout <= 0 {
		timeout = 10 * time.Minute
	}
	ctx, cancel := withDefaultTimeout(ctx, 30*time.Second)
	defer cancel()
	common := []string{
		"SET GLOBAL rpl_semi_sync_master_wait_point = AFTER_SYNC",
		fmt.Sprintf("SET GLOBAL rpl_semi_sync_master_timeout = %d", timeout.Milliseconds()),
		"SET GLOBAL rpl_semi_sync_slave_enabled = ON",
	}
	m := c.flavor.(*mariadb)
	for _, sh := range c.Shards {
		for _, r := range sh.Replicas {
			for _, s := range append(common, "STOP SLAVE IO_THREAD", "START SLAVE IO_THREAD") {
				if err := m.exec(ctx, r, "", s); err != nil {
					return fmt.Errorf("%s: %s: %w", r.Name, s, err)
				}
			}
		}
		for _, s := range append(common, "SET GLOBAL rpl_semi_sync_master_enabled = ON") {
			if err := m.exec(ctx, sh.Primary, "", s); err != nil {
				return fmt.Errorf("%s: %s: %w", sh.Primary.Name, s, err)
			}
		}
	}
	for _, sh := range c.Shards {
		if err := m.waitSemiSyncClients(ctx, sh.Primary, len(sh.Replicas)); err != nil {
			return err
		}
	}
	return nil
}

// waitSemiSyncClients waits until the primary counts want semi-synchronous
// replicas and its semi-synchronous replication is on.
func (m *mariadb) waitSemiSyncClients(ctx context.Context, p *Node, want int) error {
	db, err := m.open(p, "")
	if err != nil {
		return err
	}
	defer db.Close()
	for {
		st := map[string]string{}
		rows, err := db.QueryContext(ctx, "SHOW GLOBAL STATUS WHERE Variable_name IN ('Rpl_semi_sync_master_clients', 'Rpl_semi_sync_master_status')")
		if err != nil {
			return fmt.Errorf("%s: %w", p.Name, err)
		}
		for rows.Next() {
			var k, v string
			if err := rows.Scan(&k, &v); err != nil {
				rows.Close()
				return err
			}
			st[k] = v
		}
		rows.Close()
		if st["Rpl_semi_sync_master_status"] == "ON" && st["Rpl_semi_sync_master_clients"] == strconv.Itoa(want) {
			return nil
		}
		select {
		case <-ctx.Done():
			return fmt.Errorf("%s: semi-synchronous replication not on with %d replicas (status %v): %w", p.Name, want, st, ctx.Err())
		case <-time.After(20 * time.Millisecond):
		}
	}
}

// slaveStatus returns SHOW SLAVE STATUS as column → value (empty if the
// server is no replica).
func slaveStatus(ctx context.Context, db *sql.DB) (map[string]string, error) {
	rows, err := db.QueryContext(ctx, "SHOW SLAVE STATUS")
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	cols, err := rows.Columns()
	if err != nil {
		return nil, err
	}
	st := map[string]string{}
	if rows.Next() {
		vals := make([]sql.NullString, len(cols))
		ptrs := make([]any, len(cols))
		for i := range vals {
			ptrs[i] = &vals[i]
		}
		if err := rows.Scan(ptrs...); err != nil {
			return nil, err
		}
		for i, c := range cols {
			st[c] = vals[i].String
		}
	}
	return st, rows.Err()
}

func (m *mariadb) dsn(n *Node, user, password, database string) string {
	cfg := mysql.NewConfig()
	cfg.User = user
	cfg.Passwd = password
	cfg.Net = "tcp"
	cfg.Addr = net.JoinHostPort(n.Host, strconv.Itoa(n.Port))
	cfg.DBName = database
	return cfg.FormatDSN()
}

func (m *mariadb) adminDSN(n *Node, database string) string {
	return m.adminConfig(n, database).FormatDSN()
}

// mysqlAccount names 'user'@'%'. Over TCP every client is 127.0.0.1, and
// '%' also matches socket logins, so one account serves both.
func mysqlAccount(name string) string { return mysqlLiteral(name) + "@'%'" }

func mysqlIdent(s string) string { return "`" + strings.ReplaceAll(s, "`", "``") + "`" }

// mysqlLiteral quotes a string literal for the default sql_mode, where
// backslash escapes.
func mysqlLiteral(s string) string {
	return "'" + strings.NewReplacer(`\`, `\\`, `'`, `\'`, "\x00", `\0`).Replace(s) + "'"
}
