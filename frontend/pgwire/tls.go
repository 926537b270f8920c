package pgwire

import (
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"net"
	"slices"

	"github.com/shardgate/shardgate/config"
)

// alpnProtocol is the ALPN protocol name of Postgres (IANA-registered). A
// client that negotiates TLS directly must offer it; one that offers ALPN
// after SSLRequest must offer it too, as Postgres 17 requires.
const alpnProtocol = "postgresql"

// LoadTLSConfig reads a listener's certificate and key files into a
// tls.Config for Options.TLS. It returns nil when the mode is off.
func LoadTLSConfig(t config.ServerTLS) (*tls.Config, error) {
	if t.Mode == "" || t.Mode == config.ServerTLSOff {
		return nil, nil
	}
	cert, err := tls.LoadX509KeyPair(t.CertFile, t.KeyFile)
	if err != nil {
		return nil, fmt.Errorf("load TLS certificate %s and key %s: %w", t.CertFile, t.KeyFile, err)
	}
	return &tls.Config{Certificates: []tls.Certificate{cert}, MinVersion: tls.VersionTLS12}, nil
}

// serverTLSConfig is the caller's config with Postgres' ALPN name added, so
// direct TLS works and clients offering another protocol are refused.
func serverTLSConfig(c *tls.Config) *tls.Config {
	if c == nil {
		return nil
	}
	c = c.Clone()
	if !slices.Contains(c.NextProtos, alpnProtocol) {
		c.NextProtos = append(c.NextProtos, alpnProtocol)
	}
	return c
}

func (s *Server) tlsOn() bool {
	return s.tlsConfig != nil && s.opts.TLSMode != config.ServerTLSOff
}

// handshake runs the server side of the TLS handshake on conn. The
// connection's deadline (the startup deadline) bounds it. Nothing can be
// sent to a client whose handshake failed, so errors are never
// *sqlerr.Error.
func (s *Server) handshake(ctx context.Context, conn net.Conn, direct bool) (*tls.Conn, error) {
	tc := tls.Server(conn, s.tlsConfig)
	if err := tc.HandshakeContext(ctx); err != nil {
		return nil, fmt.Errorf("TLS handshake: %w", s.readError(err, false))
	}
	if direct && tc.ConnectionState().NegotiatedProtocol != alpnProtocol {
		return nil, errors.New("direct TLS connection without ALPN protocol postgresql")
	}
	return tc, nil
}

// directTLS handles a client that started the TLS handshake without an
// SSLRequest: hdr, already read, is the start of its ClientHello.
func (s *Server) directTLS(ctx context.Context, nc net.Conn, hdr [4]byte) (*tls.Conn, error) {
	return s.handshake(ctx, &prefixConn{Conn: nc, prefix: hdr[:]}, true)
}

// prefixConn gives back bytes already read before reading on from Conn. It
// holds nothing else: once the prefix is consumed, reads go straight to the
// connection.
type prefixConn struct {
	net.Conn
	prefix []byte
}

func (c *prefixConn) Read(b []byte) (int, error) {
	if len(c.prefix) > 0 {
		n := copy(b, c.prefix)
		c.prefix = c.prefix[n:]
		return n, nil
	}
	return c.Conn.Read(b)
}
