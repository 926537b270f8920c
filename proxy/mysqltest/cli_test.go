package mysqltest

import (
	"net"
	"os/exec"
	"strings"
	"testing"
)

// mariadbCLI runs the mariadb command-line client against the endpoint.
func mariadbCLI(t *testing.T, password string, args ...string) (string, error) {
	t.Helper()
	host, port, _ := net.SplitHostPort(addr)
	base := []string{"--no-defaults", "-h", host, "-P", port, "-u", "app", "-p" + password, "--batch", "--skip-column-names", "--skip-ssl", "app"}
	out, err := exec.Command("mariadb", append(base, args...)...).CombinedOutput()
	return string(out), err
}

func TestMariaDBClient(t *testing.T) {
	ids := idsOnEachShard(t, 6000)
	script := ""
	for _, id := range ids {
		script += "DELETE FROM users WHERE id = " + itoa(id) + "; INSERT INTO users VALUES (" + itoa(id) + ", 'cli'); "
	}
	script += "SELECT COUNT(*) FROM users WHERE id = " + itoa(ids[0]) + "; SELECT name FROM users WHERE id = " + itoa(ids[1]) + ";"
	out, err := mariadbCLI(t, "app", "-e", script)
	if err != nil {
		t.Fatalf("%v: %s", err, out)
	}
	if got := strings.Fields(out); strings.Join(got, " ") != "1 cli" {
		t.Fatalf("output %q", out)
	}
	out, err = mariadbCLI(t, "wrong", "-e", "SELECT 1")
	if err == nil || !strings.Contains(out, "ERROR 1045 (28000)") {
		t.Fatalf("wrong password: %v %q", err, out)
	}
	// A script on standard input, as `mariadb < file` runs it: the
	// session survives the error.
	host, port, _ := net.SplitHostPort(addr)
	cmd := exec.Command("mariadb", "--no-defaults", "-h", host, "-P", port, "-u", "app", "-papp", "--batch", "--skip-column-names", "--skip-ssl", "--force", "app")
	cmd.Stdin = strings.NewReader("SELEKT 1;\nSELECT CONCAT('ali', 've');\n")
	o, _ := cmd.CombinedOutput()
	out = string(o)
	if !strings.Contains(out, "ERROR 1064 (42000)") || !strings.Contains(out, "alive") {
		t.Fatalf("syntax error: %q", out)
	}
}

// The mariadb client over TLS, logging in with caching_sha2_password (as
// MySQL 8 clients do; the user has no other verifier): full
// authentication, then the fast path.
func TestMariaDBClientCachingSHA2OverTLS(t *testing.T) {
	host, port, _ := net.SplitHostPort(addr)
	for range 2 {
		out, err := exec.Command("mariadb", "--no-defaults", "-h", host, "-P", port, "-u", "sha2only", "-papp", "--batch", "--skip-column-names",
			"--ssl", "--default-auth=caching_sha2_password", "app", "-e", "SELECT 'tls ok'").CombinedOutput()
		if err != nil || strings.TrimSpace(string(out)) != "tls ok" {
			t.Fatalf("%v: %s", err, out)
		}
	}
	out, err := exec.Command("mariadb", "--no-defaults", "-h", host, "-P", port, "-u", "sha2only", "-pwrong", "--batch",
		"--ssl", "--default-auth=caching_sha2_password", "app", "-e", "SELECT 1").CombinedOutput()
	if err == nil || !strings.Contains(string(out), "1045") {
		t.Fatalf("wrong password over TLS: %v %s", err, out)
	}
}

func itoa(n int64) string {
	s := ""
	for {
		s = string(rune('0'+n%10)) + s
		n /= 10
		if n == 0 {
			return s
		}
	}
}
