package config

import (
	"bytes"
	"encoding/json"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/goccy/go-yaml"
)

const secretText = "hunter2-very-secret"

func TestSecretNeverPrints(t *testing.T) {
	s := NewSecret(secretText)
	if s.Reveal() != secretText || !s.IsSet() || (Secret{}).IsSet() {
		t.Fatal("Reveal/IsSet")
	}
	b := &Backend{User: "app", Password: s, ControlPassword: s}
	holder := struct {
		Exported Secret
		hidden   Secret
		Ptr      *Backend
	}{s, s, b}

	var outs []string
	for _, verb := range []string{"%v", "%+v", "%#v", "%s", "%q", "%x", "%X", "%d", "%T %v"} {
		outs = append(outs, fmt.Sprintf(verb, s), fmt.Sprintf(verb, *b), fmt.Sprintf(verb, holder))
	}
	outs = append(outs, fmt.Sprint(s), fmt.Sprintln(b.Password), s.String(), s.GoString())
	for _, v := range []any{s, *b, b, holder} {
		j, err := json.Marshal(v)
		if err != nil {
			t.Fatal(err)
		}
		y, err := yaml.Marshal(v)
		if err != nil {
			t.Fatal(err)
		}
		outs = append(outs, string(j), string(y))
	}
	var logs bytes.Buffer
	slog.New(slog.NewJSONHandler(&logs, nil)).Info("x", "secret", s, "backend", b)
	slog.New(slog.NewTextHandler(&logs, nil)).Info("x", "secret", s)
	outs = append(outs, logs.String())
	tm, _ := s.MarshalText()
	outs = append(outs, string(tm))

	for _, o := range outs {
		if strings.Contains(o, secretText) || strings.Contains(o, fmt.Sprintf("%x", secretText)) {
			t.Errorf("secret leaked: %s", o)
		}
	}
	for _, o := range []string{fmt.Sprintf("%v", s), fmt.Sprintf("%#v", s), string(must(json.Marshal(s)))} {
		if !strings.Contains(o, "[redacted]") {
			t.Errorf("want [redacted], got %s", o)
		}
	}
}

func must(b []byte, err error) []byte {
	if err != nil {
		panic(err)
	}
	return b
}

func TestLoadedConfigNeverPrintsSecrets(t *testing.T) {
	setFullEnv(t)
	c, err := Load("testdata/full.yaml")
	if err != nil {
		t.Fatal(err)
	}
	j, _ := json.Marshal(c)
	y, _ := c.Marshal()
	for _, o := range []string{fmt.Sprintf("%+v", *c), fmt.Sprintf("%#v", *c), fmt.Sprintf("%+v", *c.Backends.Postgres), fmt.Sprintf("%#v", c.Backends), string(j), string(y)} {
		for _, secret := range []string{"pg-secret", "control-secret", "mysql-secret"} {
			if strings.Contains(o, secret) {
				t.Errorf("%s leaked in %s", secret, o)
			}
		}
	}
}

func pgWithSource(source string) string {
	return "listeners: {postgres: {}}\nusers: [{name: app, scram_sha_256: \"" + rfcSCRAM + "\"}]\nbackends:\n  postgres:\n    user: pg\n" + source
}

func TestPasswordSources(t *testing.T) {
	dir := t.TempDir()
	write := func(name, content string, mode os.FileMode) string {
		p := filepath.Join(dir, name)
		if err := os.WriteFile(p, []byte(content), mode); err != nil {
			t.Fatal(err)
		}
		if err := os.Chmod(p, mode); err != nil {
			t.Fatal(err)
		}
		return p
	}
	good := write("good", "s3cret \r\n\n", 0o600)
	empty := write("empty", "\n", 0o600)
	open := write("open", "s3cret", 0o644)
	t.Setenv("SG_TEST_PW", "from-env")
	t.Setenv("SG_TEST_EMPTY", "")

	c, err := Parse([]byte(pgWithSource("    password_file: " + good + "\n    control_user: ctl\n    control_password_env: SG_TEST_PW\n")))
	if err != nil {
		t.Fatal(err)
	}
	if got := c.Backends.Postgres.Password.Reveal(); got != "s3cret " {
		t.Fatalf("file password %q: want trailing CR/LF trimmed, other spaces kept", got)
	}
	if c.Backends.Postgres.ControlPassword.Reveal() != "from-env" {
		t.Fatal("env password")
	}
	if len(c.Warnings()) != 0 {
		t.Fatalf("warnings %q", c.Warnings())
	}

	c, err = Parse([]byte(pgWithSource("    password_file: " + open + "\n")))
	if err != nil {
		t.Fatal(err)
	}
	if w := c.Warnings(); len(w) != 1 || !strings.Contains(w[0], "backends.postgres.password_file: "+open+" is accessible to every user") {
		t.Fatalf("world-readable file: warnings %q", w)
	}

	_, err = Parse([]byte(pgWithSource("    password_file: " + filepath.Join(dir, "missing") + "\n    control_user: ctl\n    control_password_file: " + empty + "\n")))
	wantProblems(t, err,
		"backends.postgres.password_file: stat "+filepath.Join(dir, "missing")+": no such file or directory (line 6)",
		"backends.postgres.control_password_file: "+empty+" is empty (line 8)",
	)
	_, err = Parse([]byte(pgWithSource("    password_env: SG_TEST_UNSET_VARIABLE\n    control_user: ctl\n    control_password_env: SG_TEST_EMPTY\n")))
	wantProblems(t, err,
		"backends.postgres.password_env: environment variable SG_TEST_UNSET_VARIABLE is not set (line 6)",
		"backends.postgres.control_password_env: environment variable SG_TEST_EMPTY is empty (line 8)",
	)
	_, err = Parse([]byte(pgWithSource("    password_file: " + dir + "\n")))
	wantProblems(t, err, "is not a regular file")
}

func TestRelativePasswordFileIsAnchoredAtConfigDir(t *testing.T) {
	dir := t.TempDir()
	if err := os.WriteFile(filepath.Join(dir, "pw"), []byte("rel\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	path := filepath.Join(dir, "shardgate.yaml")
	if err := os.WriteFile(path, []byte(pgWithSource("    password_file: pw\n")), 0o600); err != nil {
		t.Fatal(err)
	}
	c, err := Load(path)
	if err != nil {
		t.Fatal(err)
	}
	if c.Backends.Postgres.Password.Reveal() != "rel" || c.Backends.Postgres.PasswordFile != filepath.Join(dir, "pw") {
		t.Fatalf("relative file: %q", c.Backends.Postgres.PasswordFile)
	}
}
