package backend

import (
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"math/big"
	"net"
	"os"
	"os/user"
	"path/filepath"
	"strconv"
	"testing"
	"time"

	"github.com/shardgate/shardgate/internal/pgio"
	"github.com/shardgate/shardgate/internal/sqlerr"
	"github.com/shardgate/shardgate/sandbox"
)

// TestTLS starts its own Postgres with TLS on (the shared one has it
// off) and dials it in each mode.
func TestTLS(t *testing.T) {
	node(t) // skips without Postgres
	dir, caFile, otherCA := writeCerts(t)
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	c, err := sandbox.StartPostgres(ctx, sandbox.Spec{
		Users: []sandbox.User{{Name: testUser, Password: testPassword}},
		Settings: map[string]string{
			"ssl":           "on",
			"ssl_cert_file": filepath.Join(dir, "server.crt"),
			"ssl_key_file":  filepath.Join(dir, "server.key"),
		},
	})
	if err != nil {
		t.Fatal(err)
	}
	defer c.Stop()
	n := c.Shards[0].Primary
	opts := func(mode TLSMode, ca string) DialOptions {
		return DialOptions{Node: "tls-node", Host: n.Host, Port: n.Port, User: testUser, Password: testPassword,
			Database: c.Database, TLS: mode, CAFile: ca}
	}
	usesTLS := func(conn *Conn) string {
		return queryValue(t, conn, "SELECT ssl FROM pg_stat_ssl WHERE pid = pg_backend_pid()")
	}

	for _, mode := range []TLSMode{TLSPrefer, TLSRequire, TLSVerifyFull} {
		ca := ""
		if mode == TLSVerifyFull {
			ca = caFile
		}
		conn, err := Dial(ctx, opts(mode, ca))
		if err != nil {
			t.Fatalf("%s: %v", mode, err)
		}
		if got := usesTLS(conn); got != "t" {
			t.Fatalf("%s: ssl = %q", mode, got)
		}
		conn.Close()
	}
	conn, err := Dial(ctx, opts(TLSDisable, ""))
	if err != nil {
		t.Fatal(err)
	}
	if got := usesTLS(conn); got != "f" {
		t.Fatalf("disable: ssl = %q", got)
	}
	conn.Close()

	// A pooled TLS connection passes the liveness check and is reused.
	pool, err := NewPool(PoolOptions{Dial: opts(TLSVerifyFull, caFile), MaxConns: 1})
	if err != nil {
		t.Fatal(err)
	}
	defer pool.Close()
	first, err := pool.Acquire(ctx)
	if err != nil {
		t.Fatal(err)
	}
	queryValue(t, first, "SELECT 1")
	pool.Release(first)
	if again, err := pool.Acquire(ctx); err != nil || again != first {
		t.Fatalf("TLS connection not reused: %v", err)
	} else {
		pool.Release(again)
	}

	// verify-full against the wrong roots fails, and says why.
	_, err = Dial(ctx, opts(TLSVerifyFull, otherCA))
	if e, ok := sqlerr.As(err); !ok || e.Code != sqlerr.ConnectionFailure || e.Detail != "the server's TLS certificate could not be verified" {
		t.Fatalf("wrong CA: %v", err)
	}
	// require against the shared server, which has TLS off, fails; prefer
	// falls back to plain TCP.
	plain := dialOptions(t)
	plain.TLS = TLSRequire
	if _, err := Dial(ctx, plain); err == nil {
		t.Fatal("require accepted a server without TLS")
	}
	plain.TLS = TLSPrefer
	conn, err = Dial(ctx, plain)
	if err != nil {
		t.Fatalf("prefer without TLS: %v", err)
	}
	conn.Close()

	// Cancel goes over TLS too.
	conn, err = Dial(ctx, opts(TLSVerifyFull, caFile))
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	conn.Writer().WriteQuery("SELECT pg_sleep(10)")
	conn.Writer().Flush()
	time.Sleep(100 * time.Millisecond)
	start := time.Now()
	if err := conn.Cancel(ctx); err != nil {
		t.Fatalf("Cancel over TLS: %v", err)
	}
	ms := readUntilReady(t, conn)
	if time.Since(start) > time.Second || len(ms) < 2 || ms[len(ms)-2].typ != pgio.TypeErrorResponse {
		t.Fatalf("after cancel: %q in %v", types(ms), time.Since(start))
	}
	if f, _ := pgio.DecodeErrorFields(ms[len(ms)-2].body); f.Code != "57014" {
		t.Fatalf("code %s", f.Code)
	}
}

// writeCerts writes a CA, a server certificate for 127.0.0.1 signed by
// it, and an unrelated CA, readable by the Postgres server's OS user.
func writeCerts(t *testing.T) (dir, caFile, otherCAFile string) {
	t.Helper()
	dir, err := os.MkdirTemp("", "sg-tls-")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { os.RemoveAll(dir) })
	if err := os.Chmod(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	newKey := func() *ecdsa.PrivateKey {
		k, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
		if err != nil {
			t.Fatal(err)
		}
		return k
	}
	caKey := newKey()
	caTmpl := &x509.Certificate{
		SerialNumber: big.NewInt(1), Subject: pkix.Name{CommonName: "shardgate test CA"},
		NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(time.Hour),
		IsCA: true, BasicConstraintsValid: true, KeyUsage: x509.KeyUsageCertSign,
	}
	caDER, err := x509.CreateCertificate(rand.Reader, caTmpl, caTmpl, &caKey.PublicKey, caKey)
	if err != nil {
		t.Fatal(err)
	}
	ca, _ := x509.ParseCertificate(caDER)
	srvKey := newKey()
	srvTmpl := &x509.Certificate{
		SerialNumber: big.NewInt(2), Subject: pkix.Name{CommonName: "127.0.0.1"},
		NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(time.Hour),
		IPAddresses: []net.IP{net.ParseIP("127.0.0.1")}, ExtKeyUsage: []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth},
		KeyUsage: x509.KeyUsageDigitalSignature,
	}
	srvDER, err := x509.CreateCertificate(rand.Reader, srvTmpl, ca, &srvKey.PublicKey, caKey)
	if err != nil {
		t.Fatal(err)
	}
	otherKey := newKey()
	otherTmpl := *caTmpl
	otherTmpl.Subject.CommonName = "someone else's CA"
	otherDER, err := x509.CreateCertificate(rand.Reader, &otherTmpl, &otherTmpl, &otherKey.PublicKey, otherKey)
	if err != nil {
		t.Fatal(err)
	}
	keyDER, err := x509.MarshalECPrivateKey(srvKey)
	if err != nil {
		t.Fatal(err)
	}
	write := func(name, typ string, der []byte, mode os.FileMode) string {
		p := filepath.Join(dir, name)
		if err := os.WriteFile(p, pem.EncodeToMemory(&pem.Block{Type: typ, Bytes: der}), mode); err != nil {
			t.Fatal(err)
		}
		return p
	}
	caFile = write("ca.crt", "CERTIFICATE", caDER, 0o644)
	otherCAFile = write("other-ca.crt", "CERTIFICATE", otherDER, 0o644)
	write("server.crt", "CERTIFICATE", srvDER, 0o644)
	keyFile := write("server.key", "EC PRIVATE KEY", keyDER, 0o600)
	// As root, the sandbox runs Postgres as "postgres", which must own
	// its key.
	if os.Geteuid() == 0 {
		if u, err := user.Lookup("postgres"); err == nil {
			uid, _ := strconv.Atoi(u.Uid)
			gid, _ := strconv.Atoi(u.Gid)
			if err := os.Chown(keyFile, uid, gid); err != nil {
				t.Fatal(err)
			}
		}
	}
	return dir, caFile, otherCAFile
}
