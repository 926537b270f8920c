package pgwire

import (
	"crypto/tls"
	"errors"
	"strings"
	"testing"

	"github.com/shardgate/shardgate/config"
	"github.com/shardgate/shardgate/internal/sqlerr"
)

func TestTLSRequireRefusesClearText(t *testing.T) {
	ts := startServer(t, withTLS(t, config.ServerTLSRequire, nil))
	_, err := connect(t, ts, "alice", testPassword, "sslmode=disable")
	pe := pgError(t, err)
	if pe.Code != sqlerr.InvalidAuthorizationSpec || pe.Message != "SSL/TLS required" || pe.Severity != "FATAL" {
		t.Fatalf("%+v", pe)
	}
	conn, err := connect(t, ts, "alice", testPassword, "sslmode=require application_name=req")
	if err != nil {
		t.Fatal(err)
	}
	execSQL(t, conn, "SELECT 1")
	if !ts.h.app("req").c.TLS() {
		t.Fatal("session not over TLS")
	}
}

func TestTLSModes(t *testing.T) {
	var certFile string
	prefer := startServer(t, withTLS(t, config.ServerTLSPrefer, &certFile))
	off := startServer(t, nil)
	for _, tc := range []struct {
		name    string
		ts      *testServer
		sslmode string
		wantTLS bool
	}{
		{"prefer/require", prefer, "sslmode=require", true},
		{"prefer/prefer", prefer, "sslmode=prefer", true},
		{"prefer/disable", prefer, "sslmode=disable", false},
		{"prefer/verify-full", prefer, "sslmode=verify-full sslrootcert=" + certFile, true},
		{"prefer/direct", prefer, "sslmode=require sslnegotiation=direct", true},
		{"off/prefer", off, "sslmode=prefer", false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			app := strings.ReplaceAll(tc.name, "/", "-")
			conn, err := connect(t, tc.ts, "alice", testPassword, tc.sslmode+" application_name="+app)
			if err != nil {
				t.Fatal(err)
			}
			execSQL(t, conn, "SELECT 1")
			c := tc.ts.h.app(app).c
			if c.TLS() != tc.wantTLS {
				t.Fatalf("TLS() = %v, want %v", c.TLS(), tc.wantTLS)
			}
			if _, isTLS := c.Conn().(*tls.Conn); isTLS != tc.wantTLS {
				t.Fatalf("Conn() is %T", c.Conn())
			}
		})
	}
	if _, err := connect(t, off, "alice", testPassword, "sslmode=require"); err == nil || !strings.Contains(err.Error(), "refused TLS") {
		t.Fatalf("sslmode=require against TLS off: %v", err)
	}
}

func TestSecondSSLRequestOverTLS(t *testing.T) {
	ts := startServer(t, withTLS(t, config.ServerTLSPrefer, nil))
	c := dialRaw(t, ts)
	c.send(untyped(sslRequestCode))
	if b := c.readByte(); b != 'S' {
		t.Fatalf("SSLRequest answered %q", b)
	}
	c.Conn = tls.Client(c.Conn, &tls.Config{InsecureSkipVerify: true})
	c.send(untyped(sslRequestCode))
	e := c.expectError(sqlerr.ProtocolViolation)
	if e.Message != "duplicate SSL negotiation request" {
		t.Fatalf("%+v", e)
	}
}

// After SSLRequest, a client must speak TLS: plaintext is not buffered and
// replayed as if it had been encrypted (CVE-2021-23214); the handshake
// fails and the connection is closed.
func TestPlaintextAfterSSLRequest(t *testing.T) {
	ts := startServer(t, withTLS(t, config.ServerTLSPrefer, nil))
	c := dialRaw(t, ts)
	c.send(untyped(sslRequestCode), startupPacket(v30, "user", "alice"))
	if b := c.readByte(); b != 'S' {
		t.Fatalf("SSLRequest answered %q", b)
	}
	// Whatever the server sends now is a TLS alert, never AuthenticationSASL.
	buf := make([]byte, 64)
	n, _ := c.Read(buf)
	if n > 0 && buf[0] == 'R' {
		t.Fatalf("server took plaintext after SSLRequest: %q", buf[:n])
	}
}

func TestDirectTLSNeedsALPN(t *testing.T) {
	ts := startServer(t, withTLS(t, config.ServerTLSPrefer, nil))
	// No ALPN: the handshake completes, then the server hangs up.
	c := dialRaw(t, ts)
	tc := tls.Client(c.Conn, &tls.Config{InsecureSkipVerify: true})
	if err := tc.Handshake(); err != nil {
		t.Fatal(err)
	}
	c.Conn = tc
	c.expectClosed()
	// Another protocol: refused in the handshake.
	c = dialRaw(t, ts)
	tc = tls.Client(c.Conn, &tls.Config{InsecureSkipVerify: true, NextProtos: []string{"h2"}})
	if err := tc.Handshake(); err == nil {
		t.Fatal("ALPN h2 accepted")
	}
	// ALPN postgresql: a normal login.
	c = dialRaw(t, ts)
	c.Conn = tls.Client(c.Conn, &tls.Config{InsecureSkipVerify: true, NextProtos: []string{"postgresql"}})
	c.login("alice", query("SELECT 1"))
	c.expectQueryAnswer()
}

func TestTLSOverTLSNoReadAhead(t *testing.T) {
	ts := startServer(t, withTLS(t, config.ServerTLSRequire, nil))
	c := dialRaw(t, ts)
	c.send(untyped(sslRequestCode))
	if b := c.readByte(); b != 'S' {
		t.Fatalf("SSLRequest answered %q", b)
	}
	c.Conn = tls.Client(c.Conn, &tls.Config{InsecureSkipVerify: true})
	c.login("alice", append(query("SELECT 1"), query("SELECT 2")...))
	c.expectQueryAnswer()
	c.expectQueryAnswer()
}

func TestTLSHandshakeFailureReported(t *testing.T) {
	ts := startServer(t, withTLS(t, config.ServerTLSPrefer, nil))
	c := dialRaw(t, ts)
	c.send(untyped(sslRequestCode))
	c.readByte()
	c.send([]byte("this is not a ClientHello at all"))
	c.expectClosed()
	waitFor(t, func() bool {
		f := ts.ev.startupFailures()
		return len(f) == 1 && f[0].Code == "" && strings.Contains(f[0].Err.Error(), "TLS handshake")
	})
}

func TestLoadTLSConfig(t *testing.T) {
	if c, err := LoadTLSConfig(config.ServerTLS{Mode: config.ServerTLSOff}); c != nil || err != nil {
		t.Fatalf("off: %v %v", c, err)
	}
	_, err := LoadTLSConfig(config.ServerTLS{Mode: config.ServerTLSRequire, CertFile: "/nonexistent.crt", KeyFile: "/nonexistent.key"})
	if err == nil || !strings.Contains(err.Error(), "/nonexistent.crt") {
		t.Fatalf("missing files: %v", err)
	}
	cf, kf := tlsFiles(t)
	c, err := LoadTLSConfig(config.ServerTLS{Mode: config.ServerTLSPrefer, CertFile: cf, KeyFile: kf})
	if err != nil || len(c.Certificates) != 1 || c.MinVersion != tls.VersionTLS12 {
		t.Fatalf("%+v %v", c, err)
	}
	// The server adds ALPN to a copy, not to the caller's config.
	s, err := NewServer(Options{Handler: newTestHandler(), Users: lookupUser, TLS: c, TLSMode: config.ServerTLSPrefer})
	if err != nil {
		t.Fatal(err)
	}
	if len(c.NextProtos) != 0 || len(s.tlsConfig.NextProtos) != 1 {
		t.Fatalf("NextProtos: caller %v, server %v", c.NextProtos, s.tlsConfig.NextProtos)
	}
	if err := s.Close(); err != nil && !errors.Is(err, ErrServerClosed) {
		t.Fatal(err)
	}
}
