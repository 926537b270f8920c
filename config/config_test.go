package config

import (
	"errors"
	"os"
	"path/filepath"
	"reflect"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/shardgate/shardgate/shardmap"
)

const (
	rfcSCRAM  = "SCRAM-SHA-256$4096:W22ZaJ0SNY7soEsUEjb6gQ==$WG5d8oPm3OtcPnkdi4Uo7BkeZkBFzpcXkuLmtbsT4qY=:wfPLwcE6nTWhTAmQ7tl2KeoiWGPlZqQxSrmfPwDl2dU="
	nativePW  = "*2470C0C06DEE42FD1618BB99005ADCA2EC9D1E19"
	sha2Hex   = "0x24412430303524031A69251C34295C4B35167C7F1E5A7B63091349503974624D34504B5A424679354856336868686F52485A736E4A733368786E427575516C73446469496537"
	minimalPG = `
listeners:
  postgres: {}
users:
  - name: app
    scram_sha_256: "` + rfcSCRAM + `"
backends:
  postgres: {user: shardgate}
`
)

func setFullEnv(t *testing.T) {
	t.Setenv("SHARDGATE_PG_CONTROL_PASSWORD", "control-secret")
	t.Setenv("SHARDGATE_MYSQL_PASSWORD", "mysql-secret")
}

// wantProblems checks that err holds, in order, problems whose text
// contains each of want.
func wantProblems(t *testing.T, err error, want ...string) {
	t.Helper()
	if err == nil {
		t.Fatalf("no error, want %q", want)
	}
	got := Problems(err)
	if len(got) != len(want) {
		t.Fatalf("got %d problems, want %d:\n%v", len(got), len(want), err)
	}
	for i, w := range want {
		if !strings.Contains(got[i].Error(), w) {
			t.Errorf("problem %d:\n got %s\nwant it to contain %q", i, got[i], w)
		}
	}
}

func TestLoadFullExample(t *testing.T) {
	setFullEnv(t)
	c, err := Load("testdata/full.yaml")
	if err != nil {
		t.Fatal(err)
	}
	if c.ProxyID != "proxy-a" {
		t.Errorf("proxy_id %q", c.ProxyID)
	}
	pg := c.Listeners.Postgres
	if pg.Address != "127.0.0.1:6432" || pg.TLS.Mode != ServerTLSPrefer || pg.TLS.CertFile != filepath.Join("testdata", "tls/server.crt") {
		t.Errorf("listeners.postgres: %+v", pg)
	}
	if c.Listeners.MySQL.TLS.Mode != ServerTLSOff || c.Listeners.Admin.Address != "127.0.0.1:9090" {
		t.Errorf("listeners: %+v %+v", c.Listeners.MySQL, c.Listeners.Admin)
	}
	if len(c.Users) != 2 || c.Users[0].Name != "app" || c.Users[0].CachingSHA2Password != sha2Hex {
		t.Errorf("users: %+v", c.Users)
	}
	b := c.Backends.Postgres
	if b.Password.Reveal() != "pg-secret" || b.ControlPassword.Reveal() != "control-secret" {
		t.Errorf("postgres secrets not resolved: %q %q", b.Password.Reveal(), b.ControlPassword.Reveal())
	}
	if u, s := b.EffectiveControlUser(); u != "shardgate_admin" || s.Reveal() != "control-secret" {
		t.Errorf("control user %s", u)
	}
	if u, s := c.Backends.MySQL.EffectiveControlUser(); u != "shardgate" || s.Reveal() != "mysql-secret" {
		t.Errorf("mysql control user defaults: %s", u)
	}
	if b.TLS.Mode != BackendTLSVerifyFull || b.TLS.CAFile != filepath.Join("testdata", "tls/ca.crt") {
		t.Errorf("backends.postgres.tls: %+v", b.TLS)
	}
	if c.Pools.IdleTimeout != 5*time.Minute || c.Replicas.HeartbeatInterval != 200*time.Millisecond || !*c.Replicas.ReadYourWrites {
		t.Errorf("durations: %+v %+v", c.Pools, c.Replicas)
	}
	if c.Runtime.MaxProcs != 0 {
		t.Errorf("runtime.max_procs %d", c.Runtime.MaxProcs)
	}
	if c.Store.Path != filepath.Join("testdata", "shardgate-store") {
		t.Errorf("store path %q not anchored at the config's directory", c.Store.Path)
	}
	if c.Topology == nil || len(c.Topology.Keyspaces) != 2 || c.Topology.Keyspaces[1].Engine != shardmap.MySQL {
		t.Errorf("topology: %+v", c.Topology)
	}
	// No assertion on Warnings: git does not keep testdata/secrets/pg-password
	// at mode 0600, so a fresh checkout may rightly warn about it.
}

func TestMarshalRoundTrip(t *testing.T) {
	setFullEnv(t)
	c, err := Load("testdata/full.yaml")
	if err != nil {
		t.Fatal(err)
	}
	out, err := c.Marshal()
	if err != nil {
		t.Fatal(err)
	}
	if strings.Contains(string(out), "pg-secret") || strings.Contains(string(out), "control-secret") || strings.Contains(string(out), "mysql-secret") {
		t.Fatalf("a resolved secret was marshalled:\n%s", out)
	}
	again, err := Parse(out)
	if err != nil {
		t.Fatalf("%v\n%s", err, out)
	}
	if !reflect.DeepEqual(c, again) {
		t.Fatalf("round trip differs:\n%+v\n%+v", c, again)
	}
}

func TestMarshalBuiltConfig(t *testing.T) {
	// What the demo does: build, complete, validate, write, load.
	c := &Config{
		Listeners: Listeners{Postgres: &Listener{}, Admin: &AdminListener{}},
		Users:     []User{{Name: "app", SCRAMSHA256: rfcSCRAM}},
		Backends:  Backends{Postgres: &Backend{User: "postgres"}},
	}
	if err := c.EnsureDefaults().Validate(); err != nil {
		t.Fatal(err)
	}
	out, err := c.Marshal()
	if err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	path := filepath.Join(dir, "shardgate.yaml")
	if err := os.WriteFile(path, out, 0o600); err != nil {
		t.Fatal(err)
	}
	got, err := Load(path)
	if err != nil {
		t.Fatalf("%v\n%s", err, out)
	}
	if got.Listeners.Postgres.Address != "127.0.0.1:6432" || got.Store.Path != filepath.Join(dir, "shardgate-store") {
		t.Fatalf("loaded %+v", got)
	}
}

func TestDefaults(t *testing.T) {
	c, err := Parse([]byte(minimalPG))
	if err != nil {
		t.Fatal(err)
	}
	tru := true
	want := Config{
		ProxyID:   c.ProxyID,
		Listeners: Listeners{Postgres: &Listener{Address: "127.0.0.1:6432", TLS: ServerTLS{Mode: ServerTLSOff}}},
		Users:     []User{{Name: "app", SCRAMSHA256: rfcSCRAM}},
		Backends:  Backends{Postgres: &Backend{User: "shardgate", TLS: BackendTLS{Mode: BackendTLSPrefer}}},
		Pools: Pools{Mode: PoolTransaction, Pin: PinAllow, MaxServerConnsPerNode: 20, IdleTimeout: 5 * time.Minute,
			ConnectTimeout: 5 * time.Second, AcquireTimeout: 5 * time.Second, MaxClientConns: 1000, ServerLifetime: time.Hour},
		Limits: Limits{MaxMessageSize: 64 << 20, DrainTimeout: 30 * time.Second, StartupTimeout: 10 * time.Second, MaxMergeGroups: 1_000_000},
		Replicas: Replicas{Read: ReadPrimary, MaxLag: time.Second, WhenLagging: LagUsePrimary, WaitTimeout: 2 * time.Second,
			ReadYourWrites: &tru, HeartbeatInterval: 200 * time.Millisecond, ProbeInterval: time.Second, FailoverBuffer: 5 * time.Second},
		Transactions: Transactions{TwoPhaseCommit: TwoPhaseOn, ScatterWrites: ScatterWritesAllow,
			ResolveInterval: time.Second, Lease: 10 * time.Second, DeadlockCheck: time.Second},
		Store:   Store{Type: StoreFile, Path: "./shardgate-store"},
		Logging: Logging{Level: LogInfo, Format: LogJSON},
	}
	if !reflect.DeepEqual(*c, want) {
		t.Fatalf("defaults\n got %+v\nwant %+v", *c, want)
	}
	if c.Backends.Postgres.Password.IsSet() {
		t.Fatal("password set without a source")
	}
	if pid := c.ProxyID; !strings.HasSuffix(pid, "-"+strconv.Itoa(os.Getpid())) || len(pid) > maxProxyID {
		t.Fatalf("default proxy_id %q", pid)
	}

	etcd, err := Parse([]byte(minimalPG + "store: {type: etcd, endpoints: [\"http://127.0.0.1:2379\"]}\n"))
	if err != nil {
		t.Fatal(err)
	}
	if etcd.Store.Prefix != "/shardgate/" || etcd.Store.Path != "" {
		t.Fatalf("etcd defaults: %+v", etcd.Store)
	}
	off, err := Parse([]byte(minimalPG + "replicas: {read_your_writes: false}\n"))
	if err != nil || *off.Replicas.ReadYourWrites {
		t.Fatalf("read_your_writes: false not kept: %v", err)
	}
}

func TestCurrent(t *testing.T) {
	a, err := Parse([]byte(minimalPG))
	if err != nil {
		t.Fatal(err)
	}
	b, err := Parse([]byte(minimalPG + "logging: {level: debug}\n"))
	if err != nil {
		t.Fatal(err)
	}
	cur := NewCurrent(a)
	if cur.Load() != a {
		t.Fatal("Load")
	}
	cur.Store(b)
	if cur.Load() != b || cur.Load().Logging.Level != LogDebug {
		t.Fatal("Store")
	}
}

func TestProblemsThroughWrapping(t *testing.T) {
	_, err := Load(writeTemp(t, "listeners: {postgres: {tls: {mode: on}}}\n"))
	var pe *PathError
	if !errors.As(err, &pe) || pe.Path != "listeners.postgres.tls.mode" || pe.Line != 1 {
		t.Fatalf("errors.As: %v", err)
	}
	if len(Problems(err)) < 3 {
		t.Fatalf("Problems lost some: %v", err)
	}
	if !strings.HasPrefix(err.Error(), "config ") {
		t.Fatalf("Load does not name the file: %v", err)
	}
}

func writeTemp(t *testing.T, content string) string {
	t.Helper()
	path := filepath.Join(t.TempDir(), "shardgate.yaml")
	if err := os.WriteFile(path, []byte(content), 0o600); err != nil {
		t.Fatal(err)
	}
	return path
}
