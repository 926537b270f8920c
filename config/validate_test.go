package config

import (
	"strings"
	"testing"
	"time"

	"github.com/shardgate/shardgate/shardmap"
)

// validConfig is a complete, valid config built in code, after defaults.
func validConfig() *Config {
	return (&Config{
		Listeners: Listeners{
			Postgres: &Listener{Address: "127.0.0.1:6432"},
			MySQL:    &Listener{Address: "127.0.0.1:3307"},
			Admin:    &AdminListener{Address: "127.0.0.1:9090"},
		},
		Users:    []User{{Name: "app", SCRAMSHA256: rfcSCRAM, MySQLNativePassword: nativePW, CachingSHA2Password: sha2Hex}},
		Backends: Backends{Postgres: &Backend{User: "pg"}, MySQL: &Backend{User: "my"}},
		Topology: &shardmap.MapSpec{Keyspaces: []shardmap.KeyspaceSpec{{
			Name: "app", Engine: shardmap.Postgres,
			Tables: []shardmap.TableSpec{{Name: "users", Column: "id", Type: "bigint"}},
			Shards: []shardmap.ShardSpec{
				{KeyRange: "-80", Primary: shardmap.NodeSpec{Name: "pg0", Host: "127.0.0.1", Port: 5501}},
				{KeyRange: "80-", Primary: shardmap.NodeSpec{Name: "pg1", Host: "127.0.0.1", Port: 5502}},
			},
		}}},
	}).EnsureDefaults()
}

func TestValidConfigValidates(t *testing.T) {
	if err := validConfig().Validate(); err != nil {
		t.Fatal(err)
	}
}

// A Postgres node on a Unix socket validates with TLS mode prefer (the
// default), which means no TLS there.
func TestUnixSocketNodeValidates(t *testing.T) {
	c := validConfig()
	c.Topology.Keyspaces[0].Shards[1].Primary.Host = "/var/run/postgresql"
	if err := c.Validate(); err != nil {
		t.Fatal(err)
	}
}

func TestValidationRules(t *testing.T) {
	for _, tc := range []struct {
		name   string
		mutate func(c *Config)
		want   []string
	}{
		{"no sql listener", func(c *Config) { c.Listeners.Postgres, c.Listeners.MySQL = nil, nil },
			[]string{"listeners: enable at least one of postgres, mysql", "topology.keyspaces[0].engine"}[:1]},
		{"bad address", func(c *Config) { c.Listeners.Postgres.Address = "6432" },
			[]string{`listeners.postgres.address: want host:port, got "6432"`}},
		{"bad port", func(c *Config) { c.Listeners.MySQL.Address = "127.0.0.1:70000" },
			[]string{`listeners.mysql.address: port "70000": want 0-65535`}},
		{"same address", func(c *Config) { c.Listeners.MySQL.Address = "127.0.0.1:6432" },
			[]string{"listeners.mysql.address: 127.0.0.1:6432 conflicts with listeners.postgres.address"}},
		{"wildcard overlaps", func(c *Config) { c.Listeners.Admin.Address = ":6432"; c.Listeners.Admin.AllowRemote = true },
			[]string{"listeners.admin.address: :6432 conflicts with listeners.postgres.address"}},
		{"deadlock check too short", func(c *Config) { c.Transactions.DeadlockCheck = 5 * time.Millisecond },
			[]string{"transactions.deadlock_check: must be between 10ms and 1h, got 5ms"}},
		{"unix socket with tls required", func(c *Config) {
			c.Backends.Postgres.TLS.Mode = BackendTLSRequire
			c.Topology.Keyspaces[0].Shards[1].Primary.Host = "/var/run/postgresql"
		}, []string{"topology.keyspaces[0].shards[1].primary.host: a Unix socket has no TLS, and backends.postgres.tls.mode is require"}},
		{"tls mode", func(c *Config) { c.Listeners.Postgres.TLS.Mode = "on" },
			[]string{`listeners.postgres.tls.mode: must be one of off, prefer, require, got "on"`}},
		{"tls needs files", func(c *Config) { c.Listeners.MySQL.TLS.Mode = ServerTLSRequire },
			[]string{"listeners.mysql.tls.cert_file: missing: mode require needs a certificate",
				"listeners.mysql.tls.key_file: missing: mode require needs a private key"}},
		{"tls files without tls", func(c *Config) { c.Listeners.MySQL.TLS.CertFile = "x.crt" },
			[]string{"listeners.mysql.tls.mode: is off, but cert_file or key_file is set"}},
		{"remote admin", func(c *Config) { c.Listeners.Admin.Address = "0.0.0.0:9090" },
			[]string{"listeners.admin.address: 0.0.0.0:9090 is not a loopback address; the admin endpoint has no authentication, so set allow_remote: true"}},
		{"remote admin allowed", func(c *Config) { c.Listeners.Admin.Address = "0.0.0.0:9090"; c.Listeners.Admin.AllowRemote = true }, nil},
		{"localhost and ::1 admin", func(c *Config) { c.Listeners.Admin.Address = "[::1]:9090" }, nil},
		{"no users", func(c *Config) { c.Users = nil },
			[]string{"users: at least one user is needed"}},
		{"user without verifier", func(c *Config) { c.Users = append(c.Users, User{Name: "b"}) },
			[]string{"users[1]: needs at least one verifier"}},
		{"duplicate user", func(c *Config) { c.Users = append(c.Users, User{Name: "app", SCRAMSHA256: rfcSCRAM}) },
			[]string{`users[1].name: user "app" is already defined at users[0]`}},
		{"nameless user", func(c *Config) { c.Users[0].Name = "" }, []string{"users[0].name: missing"}},
		{"bad verifiers", func(c *Config) {
			c.Users = append(c.Users, User{Name: "b", SCRAMSHA256: "md5abc", MySQLNativePassword: "*12", CachingSHA2Password: "$5$x"})
		}, []string{
			"users[1].scram_sha_256: not a SCRAM-SHA-256 verifier",
			"users[1].mysql_native_password: not a mysql_native_password hash",
			"users[1].caching_sha2_password: not a caching_sha2_password hash",
		}},
		{"backend missing", func(c *Config) { c.Backends.MySQL = nil },
			[]string{"backends.mysql: missing: listeners.mysql is enabled"}},
		{"backend user missing", func(c *Config) { c.Backends.Postgres.User = "" },
			[]string{"backends.postgres.user: missing"}},
		{"two password sources", func(c *Config) { c.Backends.Postgres.PasswordFile, c.Backends.Postgres.PasswordEnv = "f", "E" },
			[]string{"backends.postgres.password_env: set only one of password_file and password_env"}},
		{"two control sources", func(c *Config) {
			c.Backends.MySQL.ControlUser, c.Backends.MySQL.ControlPasswordFile, c.Backends.MySQL.ControlPasswordEnv = "a", "f", "E"
		}, []string{"backends.mysql.control_password_env: set only one of control_password_file and control_password_env"}},
		{"control password without user", func(c *Config) { c.Backends.MySQL.ControlPasswordEnv = "E" },
			[]string{"backends.mysql.control_user: missing"}},
		{"backend tls mode", func(c *Config) { c.Backends.Postgres.TLS.Mode = "verify-ca" },
			[]string{`backends.postgres.tls.mode: must be one of disable, prefer, require, verify-full, got "verify-ca"`}},
		{"ca file without verification", func(c *Config) { c.Backends.Postgres.TLS.CAFile = "ca.crt" },
			[]string{"backends.postgres.tls.ca_file: is used only with mode verify-full"}},
		{"pool mode", func(c *Config) { c.Pools.Mode = "statement" },
			[]string{`pools.mode: must be one of transaction, session, got "statement"`}},
		{"pool sizes", func(c *Config) { c.Pools.MaxServerConnsPerNode, c.Pools.MinIdle, c.Pools.MaxClientConns = -1, -1, -5 },
			[]string{"pools.max_server_conns_per_node: must be at least 1", "pools.min_idle: must be between 0 and", "pools.max_client_conns: must be at least 1"}},
		{"pipeline depth", func(c *Config) { c.Pools.PipelineDepth = 65 },
			[]string{"pools.pipeline_depth: must be between 0 and 64, got 65"}},
		{"min idle above max", func(c *Config) { c.Pools.MinIdle = 21 },
			[]string{"pools.min_idle: must be between 0 and max_server_conns_per_node (20), got 21"}},
		{"negative timeouts", func(c *Config) {
			c.Pools.IdleTimeout, c.Pools.ConnectTimeout, c.Pools.AcquireTimeout = -1, -time.Second, -time.Minute
		},
			[]string{"pools.idle_timeout: must be positive", "pools.connect_timeout: must be positive, got -1s", "pools.acquire_timeout: must be positive"}},
		{"read policy", func(c *Config) { c.Replicas.Read = "nearest"; c.Replicas.WhenLagging = "panic" },
			[]string{`replicas.read: must be one of primary, replicas, replicas_preferred, got "nearest"`,
				`replicas.when_lagging: must be one of primary, error, wait, got "panic"`}},
		{"replica timings", func(c *Config) {
			c.Replicas.MaxLag, c.Replicas.WaitTimeout, c.Replicas.ProbeInterval, c.Replicas.HeartbeatInterval = -1, -1, -1, time.Millisecond
		}, []string{"replicas.max_lag: must be positive", "replicas.wait_timeout: must be positive", "replicas.probe_interval: must be positive",
			"replicas.heartbeat_interval: must be between 10ms and 10s, got 1ms"}},
		{"store type", func(c *Config) { c.Store.Type = "consul" },
			[]string{`store.type: must be one of file, etcd, got "consul"`}},
		{"file store with etcd keys", func(c *Config) { c.Store.Endpoints, c.Store.Prefix = []string{"x:1"}, "/p/" },
			[]string{"store.endpoints: is for type etcd only", "store.prefix: is for type etcd only"}},
		{"etcd store", func(c *Config) {
			c.Store = Store{Type: StoreEtcd, Endpoints: []string{"https://etcd:2379", "etcd2:2379", "ftp://x", "nope"}, Prefix: "shardgate"}
		},
			[]string{`store.endpoints[2]: want http(s)://host:port or host:port, got "ftp://x"`, `store.endpoints[3]: want`, `store.prefix: must start and end with '/', got "shardgate"`}},
		{"etcd without endpoints", func(c *Config) { c.Store = Store{Type: StoreEtcd, Prefix: "/s/", Path: "x"} },
			[]string{"store.path: is for type file only", "store.endpoints: missing: type etcd needs at least one endpoint"}},
		{"logging", func(c *Config) { c.Logging = Logging{Level: "trace", Format: "text"} },
			[]string{`logging.level: must be one of debug, info, warn, error, got "trace"`, `logging.format: must be one of json, console, got "text"`}},
		{"max procs", func(c *Config) { c.Runtime.MaxProcs = -1 },
			[]string{"runtime.max_procs: must be between 0 (Go's default) and 1024, got -1"}},
		{"max procs one", func(c *Config) { c.Runtime.MaxProcs = 1 }, nil},
		{"proxy id", func(c *Config) { c.ProxyID = "proxy a/" + strings.Repeat("x", 40) },
			[]string{"proxy_id: at most 32 characters", "proxy_id: want letters, digits"}},
		{"topology problems prefixed", func(c *Config) { c.Topology.Keyspaces[0].Shards[1].KeyRange = "8" },
			[]string{"topology.keyspaces[0].shards[1].key_range: "}},
		{"topology engine without backend", func(c *Config) {
			c.Topology.Keyspaces[0].Engine = shardmap.MySQL
			c.Backends.MySQL = nil
		}, []string{"backends.mysql: missing", "topology.keyspaces[0].engine: a mysql keyspace needs backends.mysql"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			c := validConfig()
			tc.mutate(c)
			err := c.Validate()
			if tc.want == nil {
				if err != nil {
					t.Fatal(err)
				}
				return
			}
			got := Problems(err)
			for _, w := range tc.want {
				found := false
				for _, pe := range got {
					found = found || strings.Contains(pe.Error(), w)
				}
				if !found {
					t.Errorf("want a problem containing %q, got:\n%v", w, err)
				}
			}
			if len(got) != len(tc.want) {
				t.Errorf("got %d problems, want %d:\n%v", len(got), len(tc.want), err)
			}
		})
	}
}

func TestValidationErrorsCarryLines(t *testing.T) {
	_, err := Parse([]byte(`listeners:
  postgres:
    tls:
      mode: on
users:
  - name: app
    scram_sha_256: "` + rfcSCRAM + `"
  - name: app
    mysql_native_password: "*5BCB3E6AC345B435C7C2E6B7949A74CE6F6563D"
backends:
  postgres: {user: pg}
pools:
  min_idle: 50
topology:
  keyspaces:
    - name: app
      engine: postgres
      shards:
        - key_range: "-80"
          primary: {name: pg0, host: h, port: 1}
        - key_range: "40-"
          primary: {name: pg1, host: h, port: 2}
`))
	wantProblems(t, err,
		`listeners.postgres.tls.mode: must be one of off, prefer, require, got "on" (line 4)`,
		`users[1].name: user "app" is already defined at users[0] (line 8)`,
		`users[1].mysql_native_password: not a mysql_native_password hash (want "*" followed by 40 hex digits, as PASSWORD() returns) (line 9)`,
		`pools.min_idle: must be between 0 and max_server_conns_per_node (20), got 50 (line 13)`,
		`topology.keyspaces[0].shards`,
	)
	if pe := Problems(err)[4]; pe.Line < 16 {
		t.Errorf("topology problem without its line: %v", pe)
	}
}
