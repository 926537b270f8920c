package config

import (
	"strings"
	"testing"
)

func TestUnknownKeysAtEveryDepth(t *testing.T) {
	_, err := Parse([]byte(`
listners: {}
listeners:
  postgres:
    adress: 127.0.0.1:6432
    tls: {mode: off, cert: x}
users:
  - name: app
    scram_sha_256: "` + rfcSCRAM + `"
  - name: b
    scram: x
backends:
  postgres:
    user: shardgate
    passwrd: x
pools: {max_conns: 3}
topology:
  keyspaces:
    - name: app
      engine: postgres
      shards:
        - key_range: "-"
          primary: {name: pg0, hots: h, port: 1}
`))
	wantProblems(t, err,
		"listners: unknown key (did you mean listeners?) (line 2)",
		"listeners.postgres.adress: unknown key (did you mean address?) (line 5)",
		"listeners.postgres.tls.cert: unknown key (known keys: cert_file, key_file, mode) (line 6)",
		"users[1].scram: unknown key (known keys: caching_sha2_password, mysql_native_password, name, scram_sha_256) (line 11)",
		"backends.postgres.passwrd: unknown key (known keys:",
		"pools.max_conns: unknown key",
		"topology.keyspaces[0].shards[0].primary.hots: unknown key (did you mean host?) (line 23)",
	)
}

func TestInlinePasswordsRefused(t *testing.T) {
	_, err := Parse([]byte(`
listeners: {postgres: {}}
users:
  - name: app
    password: pencil
backends:
  postgres:
    user: shardgate
    password: hunter2
    control_user: admin
    control_password: hunter3
`))
	wantProblems(t, err,
		"users[0].password: plain passwords are not allowed for users: give the user's verifiers instead (scram_sha_256,",
		"backends.postgres.password: inline passwords are not allowed: put the password in a file and set password_file",
		"backends.postgres.control_password: inline passwords are not allowed: put the password in a file and set control_password_file",
	)
	if strings.Contains(err.Error(), "hunter") || strings.Contains(err.Error(), "pencil") {
		t.Fatalf("the refused password is echoed: %v", err)
	}
}

func TestWrongKinds(t *testing.T) {
	_, err := Parse([]byte(`
listeners:
  postgres: {address: [a]}
  admin: {allow_remote: yes please}
users: {name: app}
pools:
  max_server_conns_per_node: many
  idle_timeout: 5
  connect_timeout: 5 seconds
  min_idle: 99999999999999999999
replicas: {read_your_writes: 1}
store: {endpoints: http://x}
topology: {keyspaces: [{name: a, engine: oracle}]}
`))
	wantProblems(t, err,
		"listeners.postgres.address: want a string, got a list (line 3)",
		"listeners.admin.allow_remote: want true or false, got \"yes please\" (line 4)",
		"users: want a list, got a mapping (line 5)",
		"pools.max_server_conns_per_node: want an integer, got \"many\" (line 7)",
		"pools.idle_timeout: want a duration such as 250ms, 5s or 5m, got 5 (line 8)",
		"pools.connect_timeout: want a duration such as 250ms, 5s or 5m, got \"5 seconds\" (line 9)",
		"pools.min_idle: ", // out of range, however go-yaml reads it
		"replicas.read_your_writes: want true or false, got 1 (line 11)",
		"store.endpoints: want a list, got \"http://x\" (line 12)",
		"topology.keyspaces[0].engine: unknown engine \"oracle\" (want postgres or mysql) (line 13)",
	)
}

func TestFlowListURLHint(t *testing.T) {
	_, err := Parse([]byte(minimalPG + "store: {type: etcd, endpoints: [http://127.0.0.1:2379]}\n"))
	wantProblems(t, err, `store.endpoints[0]: want a string, got a mapping (quote a value`)
}

func TestDuplicateKeys(t *testing.T) {
	_, err := Parse([]byte(minimalPG + "logging: {level: info}\nlogging: {level: debug}\n"))
	wantProblems(t, err, "logging: duplicate key (first at line 9) (line 10)")
}

func TestNullBlocks(t *testing.T) {
	_, err := Parse([]byte("listeners:\n  postgres:\n  mysql: ~\n"))
	wantProblems(t, err,
		"listeners.postgres: empty; write {} to use the defaults, or remove the key (line 2)",
		"listeners.mysql: empty; write {} to use the defaults, or remove the key (line 3)",
	)
}

func TestSyntaxError(t *testing.T) {
	_, err := Parse([]byte("listeners:\n  postgres: {address: \"x\"\nusers: [\n"))
	pe := Problems(err)
	if len(pe) != 1 || pe[0].Line == 0 || !strings.Contains(err.Error(), "syntax") {
		t.Fatalf("syntax error: %v", err)
	}
}

func TestEmptyAndMultiDocument(t *testing.T) {
	for _, in := range []string{"", "# nothing\n", "---\n"} {
		if _, err := Parse([]byte(in)); err == nil || !strings.Contains(err.Error(), "empty config") {
			t.Errorf("Parse(%q) = %v", in, err)
		}
	}
	_, err := Parse([]byte(minimalPG + "---\n" + minimalPG))
	wantProblems(t, err, "more than one YAML document")
	_, err = Parse([]byte("- a\n- b\n"))
	wantProblems(t, err, "want a mapping, got a list (line 1)")
}

func TestAnchorsAndMergeKeys(t *testing.T) {
	c, err := Parse([]byte(`
x-tls: &tls {mode: require, cert_file: a.crt, key_file: a.key}
listeners:
  postgres: {address: "127.0.0.1:6432", tls: *tls}
  mysql:
    address: "127.0.0.1:3307"
    tls:
      <<: *tls
      mode: prefer
users: [{name: app, scram_sha_256: "` + rfcSCRAM + `", mysql_native_password: "` + nativePW + `"}]
backends:
  postgres: &be {user: shardgate}
  mysql: *be
`))
	// x-tls is not a config key: anchors must hang off a real key.
	wantProblems(t, err, "x-tls: unknown key")

	c, err = Parse([]byte(`
listeners:
  postgres: {address: "127.0.0.1:6432", tls: &tls {mode: require, cert_file: a.crt, key_file: a.key}}
  mysql:
    address: "127.0.0.1:3307"
    tls:
      <<: *tls
      mode: prefer
users: [{name: app, scram_sha_256: "` + rfcSCRAM + `", mysql_native_password: "` + nativePW + `"}]
backends:
  postgres: &be {user: shardgate}
  mysql: *be
`))
	if err != nil {
		t.Fatal(err)
	}
	if c.Listeners.MySQL.TLS.Mode != ServerTLSPrefer || c.Listeners.MySQL.TLS.CertFile != "a.crt" || c.Backends.MySQL.User != "shardgate" {
		t.Fatalf("anchors: %+v %+v", c.Listeners.MySQL, c.Backends.MySQL)
	}

	// An explicit key overrides a merged one even when written before "<<".
	c, err = Parse([]byte(`
listeners:
  postgres: {tls: &tls {mode: require, cert_file: a.crt, key_file: a.key}}
  mysql:
    tls:
      mode: prefer
      <<: *tls
users: [{name: app, scram_sha_256: "` + rfcSCRAM + `"}]
backends: {postgres: {user: a}, mysql: {user: b}}
`))
	if err != nil {
		t.Fatal(err)
	}
	if c.Listeners.MySQL.TLS.Mode != ServerTLSPrefer || c.Listeners.MySQL.TLS.KeyFile != "a.key" {
		t.Fatalf("merge override: %+v", c.Listeners.MySQL.TLS)
	}

	_, err = Parse([]byte(`
listeners:
  postgres: {tls: &tls {mode: require, cert_file: a.crt, key_fle: a.key}}
  mysql: {tls: *tls}
`))
	wantProblems(t, err,
		"listeners.postgres.tls.key_fle: unknown key (did you mean key_file?) (line 3)",
		"listeners.mysql.tls.key_fle: unknown key (did you mean key_file?) (line 3)",
	)
}
