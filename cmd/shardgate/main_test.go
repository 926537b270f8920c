package main

import (
	"bytes"
	"context"
	"net"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/shardgate/shardgate/auth"
)

// run executes the CLI in-process and returns its output and error.
func run(t *testing.T, ctx context.Context, stdin string, args ...string) (string, error) {
	t.Helper()
	root := newRoot()
	var out bytes.Buffer
	root.SetOut(&out)
	root.SetErr(&out)
	root.SetIn(strings.NewReader(stdin))
	root.SetArgs(args)
	err := root.ExecuteContext(ctx)
	return out.String(), err
}

// writeConfig writes a small valid config with a user made by `user add`.
func writeConfig(t *testing.T, adminAddr string) (dir, path string) {
	t.Helper()
	dir = t.TempDir()
	users, err := run(t, context.Background(), "s3cret\n", "user", "add", "app", "--password-stdin")
	if err != nil {
		t.Fatal(err)
	}
	if strings.Contains(users, "s3cret") || !strings.Contains(users, "scram_sha_256: SCRAM-SHA-256$4096:") ||
		!strings.Contains(users, `mysql_native_password: "*`) || !strings.Contains(users, "caching_sha2_password: $A$005$") {
		t.Fatalf("user add printed:\n%s", users)
	}
	if err := os.WriteFile(filepath.Join(dir, "pw"), []byte("x\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	cfg := `listeners:
  postgres: {address: "127.0.0.1:0"}
  admin: {address: "` + adminAddr + `"}
` + users + `backends:
  postgres: {user: app, password_file: pw}
store: {path: store}
topology:
  keyspaces:
    - name: app
      engine: postgres
      tables: [{name: users, column: id, type: bigint}]
      reference_tables: [products]
      shards:
        - {key_range: "-80", primary: {name: pg0, host: 127.0.0.1, port: 5501}, replicas: [{name: pg0r, host: 127.0.0.1, port: 5502}]}
        - {key_range: "80-", primary: {name: pg1, host: 127.0.0.1, port: 5503}}
`
	path = filepath.Join(dir, "shardgate.yaml")
	if err := os.WriteFile(path, []byte(cfg), 0o600); err != nil {
		t.Fatal(err)
	}
	return dir, path
}

func TestMapCommands(t *testing.T) {
	ctx := context.Background()
	dir, path := writeConfig(t, "127.0.0.1:0")
	out, err := run(t, ctx, "", "map", "validate", "-c", path)
	if err != nil || !strings.Contains(out, "valid: 1 keyspaces, 2 shards") {
		t.Fatalf("validate: %v\n%s", err, out)
	}
	out, err = run(t, ctx, "", "map", "show", "-c", path)
	if err != nil || !strings.Contains(out, "the store is empty") || !strings.Contains(out, "pg0r 127.0.0.1:5502") {
		t.Fatalf("show before init: %v\n%s", err, out)
	}
	out, err = run(t, ctx, "", "map", "init", "-c", path)
	if err != nil || !strings.Contains(out, "seeded with map version 1") {
		t.Fatalf("init: %v\n%s", err, out)
	}
	if _, err := os.Stat(filepath.Join(dir, "store", "map.yaml")); err != nil {
		t.Fatalf("store not next to the config: %v", err)
	}
	out, err = run(t, ctx, "", "map", "init", "-c", path)
	if err != nil || !strings.Contains(out, "left unchanged") {
		t.Fatalf("second init: %v\n%s", err, out)
	}
	out, err = run(t, ctx, "", "map", "show", "-c", path)
	for _, want := range []string{"version 1, from store", "-80", "80-", "users", "id bigint", "hash", "products"} {
		if err != nil || !strings.Contains(out, want) {
			t.Fatalf("show: missing %q: %v\n%s", want, err, out)
		}
	}
}

func TestBadConfigNamesKeyPathAndStartsNothing(t *testing.T) {
	ctx := context.Background()
	dir, path := writeConfig(t, "127.0.0.1:0")
	good, _ := os.ReadFile(path)
	cases := map[string]struct{ from, to, want string }{
		"gap":         {`key_range: "80-"`, `key_range: "c0-"`, "topology.keyspaces[0].shards: "},
		"unknown key": {"password_file", "passwd_file", "backends.postgres.passwd_file: unknown key"},
		"bad type":    {"type: bigint", "type: float", "topology.keyspaces[0].tables[0].type: "},
		"inline pw":   {"password_file: pw", "password: hunter2", "backends.postgres.password"},
	}
	for name, c := range cases {
		t.Run(name, func(t *testing.T) {
			bad := filepath.Join(dir, "bad.yaml")
			os.WriteFile(bad, []byte(strings.Replace(string(good), c.from, c.to, 1)), 0o600)
			for _, args := range [][]string{{"map", "validate", "-c", bad}, {"map", "init", "-c", bad}, {"serve", "-c", bad}} {
				_, err := run(t, ctx, "", args...)
				if err == nil || !strings.Contains(err.Error(), c.want) {
					t.Fatalf("%v: got %v, want an error naming %q", args, err, c.want)
				}
				if strings.Contains(err.Error(), "hunter2") {
					t.Fatal("the error repeats the inline password")
				}
			}
			if _, err := os.Stat(filepath.Join(dir, "store")); !os.IsNotExist(err) {
				t.Fatal("a bad config touched the store")
			}
		})
	}
}

func TestServe(t *testing.T) {
	// A taken admin port: serve fails before touching the store.
	busy, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer busy.Close()
	dir, path := writeConfig(t, busy.Addr().String())
	if _, err := run(t, context.Background(), "", "serve", "-c", path); err == nil || !strings.Contains(err.Error(), "listeners.admin") {
		t.Fatalf("serve on a busy port: %v", err)
	}
	if _, err := os.Stat(filepath.Join(dir, "store")); !os.IsNotExist(err) {
		t.Fatal("serve seeded the store before failing to listen")
	}

	// A free port: serve seeds the store, answers /healthz, stops on cancel.
	ln, _ := net.Listen("tcp", "127.0.0.1:0")
	addr := ln.Addr().String()
	ln.Close()
	_, path = writeConfig(t, addr)
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { _, err := run(t, ctx, "", "serve", "-c", path); done <- err }()
	deadline := time.Now().Add(10 * time.Second)
	for {
		out, err := httpGet("http://" + addr + "/healthz")
		if err == nil && strings.Contains(out, `"map_version":1`) {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("healthz: %v %s", err, out)
		}
		time.Sleep(50 * time.Millisecond)
	}
	cancel()
	select {
	case err := <-done:
		if err != nil {
			t.Fatalf("serve: %v", err)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("serve did not stop")
	}
}

// serveFixture is what a test serve process needs: a folder holding the
// app's password file "pw", the app's verifiers (password "app"), and a
// free loopback address to listen on.
func serveFixture(t *testing.T) (dir string, v auth.Verifiers, addr string) {
	t.Helper()
	dir = t.TempDir()
	if err := os.WriteFile(filepath.Join(dir, "pw"), []byte("app\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	v, err := auth.NewVerifiers("app")
	if err != nil {
		t.Fatal(err)
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr = ln.Addr().String()
	ln.Close()
	return dir, v, addr
}
