package pgwire

import (
	"bytes"
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"net"
	"sort"
	"strings"
	"syscall"
	"time"

	"github.com/jackc/pgx/v5/pgproto3"

	"github.com/shardgate/shardgate/config"
	"github.com/shardgate/shardgate/internal/sqlerr"
)

// Request codes of the untyped packets a client may send before its
// StartupMessage, in the place of the protocol version (1234.5678 and on).
const (
	cancelRequestCode = 80877102
	sslRequestCode    = 80877103
	gssEncRequestCode = 80877104
)

// tlsHandshakeRecord is the first byte of a TLS ClientHello. A client that
// negotiates TLS directly (Postgres 17's sslnegotiation=direct) starts with
// it, where a length would otherwise be: as a length it would exceed any
// startup packet, so the two cannot be confused.
const tlsHandshakeRecord = 0x16

// startupMessage is a parsed protocol 3 StartupMessage.
type startupMessage struct {
	minor    uint16
	user     string
	database string
	// params are the other parameters, "options" included; never user,
	// database, replication or a "_pq_." protocol option.
	params map[string]string
	// unknownOptions are the "_pq_." protocol options asked for. We know
	// none, so all are listed back in NegotiateProtocolVersion.
	unknownOptions []string
}

// serveConn runs one connection: negotiation, authentication, the
// Handler's checks, and the session.
func (s *Server) serveConn(nc net.Conn) {
	defer s.wg.Done()
	holdsStartupSlot := true
	releaseStartupSlot := func() {
		if holdsStartupSlot {
			holdsStartupSlot = false
			<-s.startupSlots
		}
	}
	defer releaseStartupSlot()

	remote := nc.RemoteAddr()
	deadline := time.Now().Add(s.opts.StartupTimeout)
	nc.SetDeadline(deadline)
	tc := &trackedConn{nc: nc}
	if !s.track(tc) {
		nc.Close()
		s.opts.Listener.StartupFailed(StartupFailedInfo{RemoteAddr: remote, Err: ErrServerClosed})
		return
	}
	defer s.untrack(tc)
	ctx, cancel := context.WithDeadline(s.baseCtx, deadline)
	defer cancel()

	conn := nc
	var user, database string
	// fail reports a connection ending before its session, then sends err
	// to the client when it is an *sqlerr.Error (reporting first means a
	// client that got its error finds the event already reported).
	fail := func(err error) {
		e, send := sqlerr.As(err)
		var ae *authError
		switch {
		case errors.As(err, &ae):
			s.opts.Listener.AuthFailed(AuthFailedInfo{RemoteAddr: remote, User: user, Database: database, UnknownUser: ae.unknownUser})
		case send:
			s.opts.Listener.StartupFailed(StartupFailedInfo{RemoteAddr: remote, User: user, Code: e.Code, Err: err})
		default:
			s.opts.Listener.StartupFailed(StartupFailedInfo{RemoteAddr: remote, User: user, Err: err})
		}
		if !send {
			nc.Close()
			return
		}
		conn.Write(AppendError(nil, SeverityFatal, e))
		lingeringClose(conn, nc)
	}

	n, err := s.negotiate(ctx, nc)
	if n.conn != nil {
		conn = n.conn
	}
	if err != nil {
		fail(err)
		return
	}
	if n.cancel != nil {
		releaseStartupSlot()
		s.cancel(*n.cancel, remote)
		nc.Close()
		return
	}
	m := n.startup
	user, database = m.user, m.database
	if msg, err := negotiateProtocol(m); err != nil || msg != nil {
		if err == nil {
			_, err = conn.Write(msg)
		}
		if err != nil {
			fail(s.readError(err, false))
			return
		}
	}
	if s.opts.TLSMode == config.ServerTLSRequire && !n.tls {
		fail(errTLSRequired)
		return
	}
	if e := s.acquireClient(); e != nil {
		fail(e)
		return
	}
	defer s.releaseClient()
	releaseStartupSlot()

	if err := s.authenticate(conn, m.user); err != nil {
		fail(err)
		return
	}

	info := StartupInfo{User: m.user, Database: m.database, Params: m.params, RemoteAddr: remote, TLS: n.tls}
	status, err := s.opts.Handler.CheckStartup(ctx, info)
	if err != nil {
		if s.isDraining() && ctx.Err() != nil {
			err = errShuttingDown
		}
		fail(sqlerr.From(err))
		return
	}

	c := &ClientConn{
		User: m.user, Database: m.database, Params: m.params, RemoteAddr: remote,
		conn: conn, tls: n.tls, draining: s.draining,
	}
	s.register(c)
	defer s.unregister(c)

	out, err := appendSessionStart(nil, status, c)
	if err != nil {
		fail(sqlerr.From(err))
		return
	}
	if !s.enterSession(tc) {
		fail(errShuttingDown)
		return
	}
	if _, err := conn.Write(out); err != nil {
		fail(s.readError(err, false))
		return
	}
	nc.SetDeadline(time.Time{})

	sinfo := SessionInfo{RemoteAddr: remote, User: c.User, Database: c.Database, ProcessID: c.pid, TLS: c.tls}
	s.opts.Listener.SessionStarted(sinfo)
	start := time.Now()
	sctx, scancel := context.WithCancel(s.baseCtx)
	s.opts.Handler.ServeSession(sctx, c)
	scancel()
	nc.Close()
	sinfo.Duration = time.Since(start)
	s.opts.Listener.SessionEnded(sinfo)
}

// appendSessionStart appends what ends the startup phase, in one write:
// AuthenticationOk, ParameterStatus for each status value (sorted by name),
// BackendKeyData, ReadyForQuery (idle).
func appendSessionStart(dst []byte, status map[string]string, c *ClientConn) ([]byte, error) {
	names := make([]string, 0, len(status))
	for name := range status {
		names = append(names, name)
	}
	sort.Strings(names)
	msgs := []pgproto3.BackendMessage{&pgproto3.AuthenticationOk{}}
	for _, name := range names {
		msgs = append(msgs, &pgproto3.ParameterStatus{Name: name, Value: status[name]})
	}
	msgs = append(msgs,
		&pgproto3.BackendKeyData{ProcessID: c.pid, SecretKey: c.secret[:]},
		&pgproto3.ReadyForQuery{TxStatus: 'I'})
	var err error
	for _, m := range msgs {
		if dst, err = m.Encode(dst); err != nil {
			return nil, err
		}
	}
	return dst, nil
}

// negotiation is what the packets before the StartupMessage established:
// the connection to go on with (the TLS connection after an upgrade), and
// either the StartupMessage or a CancelRequest that ends the connection.
type negotiation struct {
	conn    net.Conn
	tls     bool
	startup *startupMessage
	cancel  *cancelRequest
}

// negotiate reads untyped packets until the StartupMessage or a
// CancelRequest, answering SSLRequest and GSSENCRequest on the way. It reads
// exactly the bytes of each packet straight from the connection, so nothing
// the client sends after the StartupMessage is consumed here: the session
// wraps the connection in its own buffered reader. The same holds across
// the TLS upgrade: plaintext the client sent after SSLRequest and before
// the handshake cannot be buffered here and replayed as if it had come
// encrypted (CVE-2021-23214); it simply breaks the handshake.
//
// On error, n.conn is the connection to send the error on (an error is sent
// only when the error is an *sqlerr.Error).
func (s *Server) negotiate(ctx context.Context, nc net.Conn) (n negotiation, err error) {
	n.conn = nc
	sslDone, gssDone := false, false
	for first := true; ; first = false {
		var hdr [4]byte
		if _, err := io.ReadFull(n.conn, hdr[:]); err != nil {
			return n, s.readError(err, true)
		}
		if first && hdr[0] == tlsHandshakeRecord && s.tlsOn() {
			tc, err := s.directTLS(ctx, nc, hdr)
			if err != nil {
				return n, err
			}
			n.conn, n.tls = tc, true
			sslDone, gssDone = true, true
			continue
		}
		length := binary.BigEndian.Uint32(hdr[:])
		if length < 8 || uint64(length) > uint64(s.opts.MaxStartupMessage) {
			return n, protocolError("invalid length of startup packet")
		}
		body := make([]byte, length-4)
		if _, err := io.ReadFull(n.conn, body); err != nil {
			return n, s.readError(err, true)
		}
		switch code := binary.BigEndian.Uint32(body); code {
		case sslRequestCode:
			if len(body) != 4 {
				return n, protocolError("invalid length of SSL negotiation request")
			}
			if sslDone {
				return n, protocolError("duplicate SSL negotiation request")
			}
			sslDone = true
			if !s.tlsOn() {
				if _, err := n.conn.Write([]byte{'N'}); err != nil {
					return n, s.readError(err, false)
				}
				continue
			}
			if _, err := n.conn.Write([]byte{'S'}); err != nil {
				return n, s.readError(err, false)
			}
			tc, err := s.handshake(ctx, n.conn, false)
			if err != nil {
				return n, err
			}
			// No GSS encryption inside TLS, as in Postgres.
			n.conn, n.tls, gssDone = tc, true, true
		case gssEncRequestCode:
			if len(body) != 4 {
				return n, protocolError("invalid length of GSSAPI encryption request")
			}
			if gssDone {
				return n, protocolError("unexpected GSSAPI encryption request")
			}
			gssDone = true
			// No GSSAPI: the client goes on in the clear or asks for TLS.
			if _, err := n.conn.Write([]byte{'N'}); err != nil {
				return n, s.readError(err, false)
			}
		case cancelRequestCode:
			req, err := parseCancelRequest(body)
			if err != nil {
				return n, err
			}
			n.cancel = &req
			return n, nil
		default:
			m, err := parseStartupMessage(body)
			if err != nil {
				return n, err
			}
			n.startup = m
			return n, nil
		}
	}
}

// parseStartupMessage parses a StartupMessage body (after the length):
// protocol version, then name/value pairs of NUL-terminated strings, then
// a NUL. The checks and messages follow Postgres' ProcessStartupPacket.
func parseStartupMessage(body []byte) (*startupMessage, error) {
	version := binary.BigEndian.Uint32(body)
	major, minor := version>>16, version&0xffff
	if major != 3 {
		// Postgres' code for this is feature_not_supported, not
		// protocol_violation; drivers show the message either way.
		return nil, sqlerr.New(sqlerr.FeatureNotSupported,
			"unsupported frontend protocol %d.%d: server supports 3.0 to 3.0", major, minor)
	}
	m := &startupMessage{minor: uint16(minor), params: map[string]string{}}
	rest := body[4:]
	for len(rest) > 0 && rest[0] != 0 {
		name, after, ok := cutNUL(rest)
		if !ok {
			break
		}
		value, after, ok := cutNUL(after)
		if !ok {
			break
		}
		rest = after
		switch {
		case name == "user":
			m.user = value
		case name == "database":
			m.database = value
		case name == "replication":
			if !falseBool(value) {
				return nil, sqlerr.New(sqlerr.FeatureNotSupported, "replication connections are not supported by shardgate").
					WithHint("Connect to the shards directly for replication.")
			}
		case strings.HasPrefix(name, "_pq_."):
			m.unknownOptions = append(m.unknownOptions, name)
		default:
			m.params[name] = value
		}
	}
	if len(rest) != 1 || rest[0] != 0 {
		return nil, protocolError("invalid startup packet layout: expected terminator as last byte")
	}
	if m.user == "" {
		return nil, errNoUser
	}
	if m.database == "" {
		m.database = m.user
	}
	return m, nil
}

// cutNUL splits b at its first NUL.
func cutNUL(b []byte) (string, []byte, bool) {
	i := bytes.IndexByte(b, 0)
	if i < 0 {
		return "", b, false
	}
	return string(b[:i]), b[i+1:], true
}

// falseBool reports whether v is a false value of Postgres' parse_bool (the
// spellings drivers send).
func falseBool(v string) bool {
	switch strings.ToLower(v) {
	case "0", "f", "fa", "fal", "fals", "false", "n", "no", "of", "off":
		return true
	}
	return false
}

// negotiateProtocol is the NegotiateProtocolVersion message to send for m,
// or nil: protocol 3.0 with no "_pq_." option needs none. Clients asking
// for a newer minor version (3.2) learn that we speak 3.0 and which of
// their options we ignore, and go on with 3.0.
func negotiateProtocol(m *startupMessage) ([]byte, error) {
	if m.minor == 0 && len(m.unknownOptions) == 0 {
		return nil, nil
	}
	msg := &pgproto3.NegotiateProtocolVersion{NewestMinorProtocol: 0, UnrecognizedOptions: m.unknownOptions}
	return msg.Encode(nil)
}

// readMessage reads one typed message (type byte, length, body) of at most
// max body bytes, exactly, with no read-ahead.
func (s *Server) readMessage(r io.Reader) (typ byte, body []byte, err error) {
	var hdr [5]byte
	if _, err := io.ReadFull(r, hdr[:]); err != nil {
		return 0, nil, s.readError(err, true)
	}
	length := binary.BigEndian.Uint32(hdr[1:])
	if length < 4 || uint64(length)-4 > uint64(s.opts.MaxStartupMessage) {
		return 0, nil, protocolError("invalid message length")
	}
	body = make([]byte, length-4)
	if _, err := io.ReadFull(r, body); err != nil {
		return 0, nil, s.readError(err, true)
	}
	return hdr[0], body, nil
}

// readError classifies an I/O error of the startup phase: the client left,
// the startup timeout ran out, or Shutdown interrupted the read (then, if
// canReply, the client is told the server is shutting down).
func (s *Server) readError(err error, canReply bool) error {
	var ne net.Error
	switch {
	case errors.As(err, &ne) && ne.Timeout():
		if s.isDraining() {
			if canReply {
				return errShuttingDown
			}
			return fmt.Errorf("interrupted by shutdown: %w", err)
		}
		return ErrStartupTimeout
	case errors.Is(err, io.EOF), errors.Is(err, io.ErrUnexpectedEOF),
		errors.Is(err, syscall.ECONNRESET), errors.Is(err, syscall.EPIPE):
		return fmt.Errorf("%w: %w", ErrClientGone, err)
	}
	return err
}
