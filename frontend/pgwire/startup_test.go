package pgwire

import (
	"context"
	"crypto/hmac"
	"crypto/pbkdf2"
	"crypto/sha256"
	"crypto/tls"
	"encoding/base64"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"net"
	"os"
	"reflect"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgproto3"

	"github.com/shardgate/shardgate/internal/sqlerr"
)

// rawConn is a hand-driven client for what real drivers never send.
type rawConn struct {
	t failer
	net.Conn
	fe *pgproto3.Frontend
}

// failer is the part of *testing.T that rawConn uses; goFailer stands in
// for it on goroutines other than the test's, where Fatal must not run.
type failer interface {
	Helper()
	Fatalf(format string, args ...any)
}

type goFailer struct{}

type goFailure struct{ err error }

func (goFailer) Helper() {}
func (goFailer) Fatalf(format string, args ...any) {
	panic(goFailure{fmt.Errorf(format, args...)})
}

// runOff runs f with a rawConn on a goroutine other than the test's,
// reporting a failure to errs.
func runOff(f func(*rawConn), c *rawConn, errs chan<- error) {
	defer func() {
		if r := recover(); r != nil {
			if gf, ok := r.(goFailure); ok {
				errs <- gf.err
				return
			}
			panic(r)
		}
	}()
	f(c)
}

func dialRaw(t *testing.T, ts *testServer) *rawConn {
	t.Helper()
	nc, err := net.DialTimeout("tcp", ts.addr, 5*time.Second)
	if err != nil {
		t.Fatal(err)
	}
	nc.SetDeadline(time.Now().Add(15 * time.Second))
	t.Cleanup(func() { nc.Close() })
	return &rawConn{t: t, Conn: nc}
}

func (c *rawConn) send(parts ...[]byte) {
	c.t.Helper()
	var b []byte
	for _, p := range parts {
		b = append(b, p...)
	}
	if _, err := c.Write(b); err != nil {
		c.t.Fatalf("write: %v", err)
	}
}

// untyped builds a length-prefixed packet: code, then body.
func untyped(code uint32, body ...byte) []byte {
	b := binary.BigEndian.AppendUint32(nil, uint32(8+len(body)))
	b = binary.BigEndian.AppendUint32(b, code)
	return append(b, body...)
}

// startupPacket builds a StartupMessage of version with name/value pairs.
func startupPacket(version uint32, kv ...string) []byte {
	var body []byte
	for _, s := range kv {
		body = append(append(body, s...), 0)
	}
	return untyped(version, append(body, 0)...)
}

const v30 = 3 << 16

// typed builds a typed message.
func typed(typ byte, body []byte) []byte {
	b := []byte{typ}
	b = binary.BigEndian.AppendUint32(b, uint32(4+len(body)))
	return append(b, body...)
}

func (c *rawConn) readByte() byte {
	c.t.Helper()
	var b [1]byte
	if _, err := io.ReadFull(c.Conn, b[:]); err != nil {
		c.t.Fatalf("read: %v", err)
	}
	return b[0]
}

func (c *rawConn) frontend() *pgproto3.Frontend {
	if c.fe == nil {
		c.fe = pgproto3.NewFrontend(c.Conn, c.Conn)
	}
	return c.fe
}

func (c *rawConn) receive() pgproto3.BackendMessage {
	c.t.Helper()
	m, err := c.frontend().Receive()
	if err != nil {
		c.t.Fatalf("receive: %v", err)
	}
	return m
}

// expectError reads an ErrorResponse with code (the next message), then
// expects the server to close the connection.
func (c *rawConn) expectError(code string) *pgproto3.ErrorResponse {
	c.t.Helper()
	m := c.receive()
	e, ok := m.(*pgproto3.ErrorResponse)
	if !ok {
		c.t.Fatalf("got %T %+v, want ErrorResponse %s", m, m, code)
	}
	if e.Code != code || e.Severity != "FATAL" || e.SeverityUnlocalized != "FATAL" {
		c.t.Fatalf("got %s %s: %s (%s), want FATAL %s", e.Severity, e.Code, e.Message, e.Detail, code)
	}
	c.expectClosed()
	return e
}

// expectClosed expects the server to close without sending anything more.
func (c *rawConn) expectClosed() {
	c.t.Helper()
	if c.fe != nil {
		if m, err := c.fe.Receive(); err == nil {
			c.t.Fatalf("got %T %+v, want the connection closed", m, m)
		}
		return
	}
	var b [1]byte
	n, err := c.Conn.Read(b[:])
	if n > 0 || errors.Is(err, context.DeadlineExceeded) || isTimeout(err) {
		c.t.Fatalf("read %d bytes, %v: want the connection closed", n, err)
	}
}

func isTimeout(err error) bool {
	var ne net.Error
	return errors.As(err, &ne) && ne.Timeout()
}

// expectSASL reads AuthenticationSASL offering SCRAM-SHA-256 only.
func (c *rawConn) expectSASL() {
	c.t.Helper()
	m := c.receive()
	a, ok := m.(*pgproto3.AuthenticationSASL)
	if !ok || !reflect.DeepEqual(a.AuthMechanisms, []string{"SCRAM-SHA-256"}) {
		c.t.Fatalf("got %T %+v, want AuthenticationSASL [SCRAM-SHA-256]", m, m)
	}
}

func saslInitial(mechanism, data string) []byte {
	b := append([]byte(mechanism), 0)
	b = binary.BigEndian.AppendUint32(b, uint32(len(data)))
	return typed('p', append(b, data...))
}

// scramClient is the client side of SCRAM-SHA-256, for tests.
type scramClient struct {
	password  string
	gs2       string
	nonce     string
	firstBare string
}

func newSCRAMClient(password string) *scramClient {
	return &scramClient{password: password, gs2: "n,,", nonce: "rOprNGfwEbeRWgbNEkqO%hvYDpWUa2RaTCAfuxFIlj)hNlF"}
}

func (s *scramClient) first() string {
	s.firstBare = "n=,r=" + s.nonce
	return s.gs2 + s.firstBare
}

// final answers serverFirst; it returns the client-final-message and the
// server signature to expect.
func (s *scramClient) final(t failer, serverFirst string) (string, string) {
	t.Helper()
	var nonce, salt string
	iters := 0
	for _, a := range strings.Split(serverFirst, ",") {
		switch {
		case strings.HasPrefix(a, "r="):
			nonce = a[2:]
		case strings.HasPrefix(a, "s="):
			salt = a[2:]
		case strings.HasPrefix(a, "i="):
			iters, _ = strconv.Atoi(a[2:])
		}
	}
	if !strings.HasPrefix(nonce, s.nonce) || len(nonce) < len(s.nonce)+24 {
		t.Fatalf("server nonce %q does not extend the client's with 18+ bytes", nonce)
	}
	saltBytes, err := base64.StdEncoding.DecodeString(salt)
	if err != nil || iters < 1 {
		t.Fatalf("server-first %q", serverFirst)
	}
	salted, err := pbkdf2.Key(sha256.New, s.password, saltBytes, iters, 32)
	if err != nil {
		t.Fatalf("%v", err)
	}
	mac := func(key []byte, msg string) []byte {
		m := hmac.New(sha256.New, key)
		m.Write([]byte(msg))
		return m.Sum(nil)
	}
	clientKey := mac(salted, "Client Key")
	storedKey := sha256.Sum256(clientKey)
	withoutProof := "c=" + base64.StdEncoding.EncodeToString([]byte(s.gs2)) + ",r=" + nonce
	authMessage := s.firstBare + "," + serverFirst + "," + withoutProof
	sig := mac(storedKey[:], authMessage)
	proof := make([]byte, len(clientKey))
	for i := range proof {
		proof[i] = clientKey[i] ^ sig[i]
	}
	serverSig := mac(mac(salted, "Server Key"), authMessage)
	return withoutProof + ",p=" + base64.StdEncoding.EncodeToString(proof), "v=" + base64.StdEncoding.EncodeToString(serverSig)
}

func (c *rawConn) expectContinue() string {
	c.t.Helper()
	m := c.receive()
	sc, ok := m.(*pgproto3.AuthenticationSASLContinue)
	if !ok {
		c.t.Fatalf("got %T %+v, want AuthenticationSASLContinue", m, m)
	}
	return string(sc.Data)
}

// login runs a whole startup with a correct password, sending extra right
// behind the last SCRAM message (before the server answered it), and reads
// up to ReadyForQuery.
func (c *rawConn) login(user string, extra []byte) {
	c.t.Helper()
	c.send(startupPacket(v30, "user", user, "database", "app"))
	c.expectSASL()
	sc := newSCRAMClient(testPassword)
	c.send(saslInitial("SCRAM-SHA-256", sc.first()))
	final, wantSig := sc.final(c.t, c.expectContinue())
	c.send(typed('p', []byte(final)), extra)
	c.expectSessionStart(wantSig)
}

func (c *rawConn) expectSessionStart(wantSig string) {
	c.t.Helper()
	if m, ok := c.receive().(*pgproto3.AuthenticationSASLFinal); !ok || string(m.Data) != wantSig {
		c.t.Fatalf("got %+v, want SASLFinal %s", m, wantSig)
	}
	if m, ok := c.receive().(*pgproto3.AuthenticationOk); !ok {
		c.t.Fatalf("got %T, want AuthenticationOk", m)
	}
	for {
		switch m := c.receive().(type) {
		case *pgproto3.ParameterStatus:
		case *pgproto3.BackendKeyData:
			if len(m.SecretKey) != 4 || m.ProcessID == 0 {
				c.t.Fatalf("BackendKeyData %+v", m)
			}
		case *pgproto3.ReadyForQuery:
			if m.TxStatus != 'I' {
				c.t.Fatalf("ReadyForQuery %c", m.TxStatus)
			}
			return
		default:
			c.t.Fatalf("unexpected %T %+v", m, m)
		}
	}
}

// expectQueryAnswer reads the test handler's answer to a Query.
func (c *rawConn) expectQueryAnswer() {
	c.t.Helper()
	if m, ok := c.receive().(*pgproto3.CommandComplete); !ok || string(m.CommandTag) != "SELECT 0" {
		c.t.Fatalf("got %+v, want CommandComplete SELECT 0", m)
	}
	if _, ok := c.receive().(*pgproto3.ReadyForQuery); !ok {
		c.t.Fatalf("want ReadyForQuery")
	}
}

func query(sql string) []byte { return typed('Q', append([]byte(sql), 0)) }

func TestRawLogin(t *testing.T) {
	ts := startServer(t, nil)
	c := dialRaw(t, ts)
	c.login("alice", nil)
	c.send(query("SELECT 1"))
	c.expectQueryAnswer()
}

// The session reads from the connection itself: whatever the client sent
// right behind its last startup message must still be there for it.
func TestNoReadAhead(t *testing.T) {
	ts := startServer(t, nil)
	c := dialRaw(t, ts)
	c.login("alice", append(query("SELECT 1"), query("SELECT 2")...))
	c.expectQueryAnswer()
	c.expectQueryAnswer()
}

func TestMalformedStartup(t *testing.T) {
	ts := startServer(t, nil)
	lengthOnly := func(n uint32, pad int) []byte {
		return append(binary.BigEndian.AppendUint32(nil, n), make([]byte, pad)...)
	}
	for _, tc := range []struct {
		name    string
		packet  []byte
		code    string
		message string
	}{
		{"length below 8", lengthOnly(7, 3), sqlerr.ProtocolViolation, "invalid length of startup packet"},
		{"length zero", lengthOnly(0, 0), sqlerr.ProtocolViolation, "invalid length of startup packet"},
		{"length over the maximum", lengthOnly(10001, 10), sqlerr.ProtocolViolation, "invalid length of startup packet"},
		{"huge length, unread body", lengthOnly(1<<31, 9000), sqlerr.ProtocolViolation, "invalid length of startup packet"},
		{"protocol 2.0", startupPacket(2<<16, "user", "alice"), sqlerr.FeatureNotSupported, "unsupported frontend protocol 2.0: server supports 3.0 to 3.0"},
		{"protocol 4.0", startupPacket(4<<16, "user", "alice"), sqlerr.FeatureNotSupported, "unsupported frontend protocol 4.0"},
		{"unknown request code", untyped(1234<<16 | 5681), sqlerr.FeatureNotSupported, "unsupported frontend protocol 1234.5681"},
		{"no terminator", untyped(v30, []byte("user\x00alice\x00")...), sqlerr.ProtocolViolation, "invalid startup packet layout: expected terminator as last byte"},
		{"name without value", untyped(v30, []byte("user\x00alice\x00database\x00")...), sqlerr.ProtocolViolation, "invalid startup packet layout"},
		{"garbage after terminator", untyped(v30, []byte("user\x00alice\x00\x00x")...), sqlerr.ProtocolViolation, "invalid startup packet layout"},
		{"no user", startupPacket(v30, "database", "app"), sqlerr.InvalidAuthorizationSpec, "no PostgreSQL user name specified in startup packet"},
		{"empty user", startupPacket(v30, "user", ""), sqlerr.InvalidAuthorizationSpec, "no PostgreSQL user name"},
		{"physical replication", startupPacket(v30, "user", "alice", "replication", "true"), sqlerr.FeatureNotSupported, "replication connections are not supported"},
		{"logical replication", startupPacket(v30, "user", "alice", "replication", "database"), sqlerr.FeatureNotSupported, "replication connections are not supported"},
		{"SSLRequest with a body", untyped(sslRequestCode, 1, 2, 3, 4), sqlerr.ProtocolViolation, "invalid length of SSL negotiation request"},
		{"SSLRequest twice", append(untyped(sslRequestCode), untyped(sslRequestCode)...), sqlerr.ProtocolViolation, "duplicate SSL negotiation request"},
		{"GSSENCRequest twice", append(untyped(gssEncRequestCode), untyped(gssEncRequestCode)...), sqlerr.ProtocolViolation, "unexpected GSSAPI encryption request"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			c := dialRaw(t, ts)
			c.send(tc.packet)
			// 'N' answers come first for negotiation requests.
			for i := 0; i < strings.Count(tc.name, "twice"); i++ {
				if b := c.readByte(); b != 'N' {
					t.Fatalf("answer %q, want N", b)
				}
			}
			e := c.expectError(tc.code)
			if !strings.HasPrefix(e.Message, tc.message) {
				t.Fatalf("message %q, want %q", e.Message, tc.message)
			}
		})
	}
	// Each was reported once, with the code sent.
	failures := ts.ev.startupFailures()
	if len(failures) != 17 {
		t.Fatalf("%d StartupFailed events, want 17", len(failures))
	}
	for _, f := range failures {
		if f.Code == "" || f.Err == nil {
			t.Errorf("event %+v without code or error", f)
		}
	}
	if _, err := connect(t, ts, "alice", testPassword, "sslmode=disable"); err != nil {
		t.Fatalf("good client after bad ones: %v", err)
	}
}

func TestParseStartupMessage(t *testing.T) {
	body := startupPacket(v30|2, "user", "alice", "options", "-c geqo=off", "_pq_.foo", "1",
		"replication", "off", "application_name", "x", "_pq_.bar", "2")[4:]
	m, err := parseStartupMessage(body)
	if err != nil {
		t.Fatal(err)
	}
	want := &startupMessage{minor: 2, user: "alice", database: "alice",
		params:         map[string]string{"options": "-c geqo=off", "application_name": "x"},
		unknownOptions: []string{"_pq_.foo", "_pq_.bar"}}
	if !reflect.DeepEqual(m, want) {
		t.Fatalf("got %+v\nwant %+v", m, want)
	}
	for _, v := range []string{"false", "0", "no", "OFF", "f"} {
		if _, err := parseStartupMessage(startupPacket(v30, "user", "a", "replication", v)[4:]); err != nil {
			t.Errorf("replication=%s refused: %v", v, err)
		}
	}
	for _, v := range []string{"true", "on", "1", "database", "yes", ""} {
		if _, err := parseStartupMessage(startupPacket(v30, "user", "a", "replication", v)[4:]); err == nil {
			t.Errorf("replication=%q accepted", v)
		}
	}
}

// A client asking for protocol 3.2 and _pq_ options gets
// NegotiateProtocolVersion (3.0, the options listed), then authentication.
func TestNegotiateProtocolVersion(t *testing.T) {
	ts := startServer(t, nil)
	c := dialRaw(t, ts)
	c.send(startupPacket(v30|2, "user", "alice", "_pq_.compression", "on", "_pq_.other", "x"))
	m, ok := c.receive().(*pgproto3.NegotiateProtocolVersion)
	if !ok || m.NewestMinorProtocol != 0 || !reflect.DeepEqual(m.UnrecognizedOptions, []string{"_pq_.compression", "_pq_.other"}) {
		t.Fatalf("got %+v", m)
	}
	c.expectSASL()

	// Protocol 3.0 with an option: negotiated too.
	c = dialRaw(t, ts)
	c.send(startupPacket(v30, "user", "alice", "_pq_.x", "1"))
	if m, ok := c.receive().(*pgproto3.NegotiateProtocolVersion); !ok || m.NewestMinorProtocol != 0 || len(m.UnrecognizedOptions) != 1 {
		t.Fatalf("got %+v", m)
	}
	c.expectSASL()

	// pgx asking for 3.2 goes on with 3.0.
	conn, err := connect(t, ts, "alice", testPassword, "sslmode=disable max_protocol_version=3.2")
	if err != nil {
		t.Fatal(err)
	}
	execSQL(t, conn, "SELECT 1")
	// …and one that insists on 3.2 gives up.
	if _, err := connect(t, ts, "alice", testPassword, "sslmode=disable min_protocol_version=3.2"); err == nil {
		t.Fatal("min_protocol_version=3.2 connected")
	}
}

// GSSENCRequest is answered 'N', then the client goes on in the clear, or
// asks for TLS (and the reverse order works too).
func TestGSSENCRequest(t *testing.T) {
	ts := startServer(t, withTLS(t, "prefer", nil))
	c := dialRaw(t, ts)
	c.send(untyped(gssEncRequestCode))
	if b := c.readByte(); b != 'N' {
		t.Fatalf("GSSENCRequest answered %q", b)
	}
	c.login("alice", nil)
	c.send(query("SELECT 1"))
	c.expectQueryAnswer()

	// GSS refused, then TLS.
	c = dialRaw(t, ts)
	c.send(untyped(gssEncRequestCode))
	if b := c.readByte(); b != 'N' {
		t.Fatalf("GSSENCRequest answered %q", b)
	}
	c.send(untyped(sslRequestCode))
	if b := c.readByte(); b != 'S' {
		t.Fatalf("SSLRequest answered %q", b)
	}
	tc := tls.Client(c.Conn, &tls.Config{InsecureSkipVerify: true})
	c.Conn = tc
	c.login("alice", nil)

	// No GSS encryption inside TLS.
	c = dialRaw(t, ts)
	c.send(untyped(sslRequestCode))
	if b := c.readByte(); b != 'S' {
		t.Fatalf("SSLRequest answered %q", b)
	}
	c.Conn = tls.Client(c.Conn, &tls.Config{InsecureSkipVerify: true})
	c.send(untyped(gssEncRequestCode))
	c.expectError(sqlerr.ProtocolViolation)
}

// Bad clients of every kind, at once, while good ones log in.
func TestBadClientsDoNotDisturbOthers(t *testing.T) {
	ts := startServer(t, func(o *Options) { o.StartupTimeout = 2 * time.Second })
	var wg sync.WaitGroup
	bad := []func(c *rawConn){
		func(c *rawConn) { c.Close() }, // connects and leaves
		func(c *rawConn) { // leaves mid-packet
			c.send(binary.BigEndian.AppendUint32(nil, 100), []byte("abc"))
			c.Close()
		},
		func(c *rawConn) { // leaves mid-authentication
			c.send(startupPacket(v30, "user", "alice"))
			c.expectSASL()
			c.Close()
		},
		func(c *rawConn) { // leaves after client-first
			c.send(startupPacket(v30, "user", "alice"))
			c.expectSASL()
			c.send(saslInitial("SCRAM-SHA-256", newSCRAMClient("x").first()))
			c.expectContinue()
			c.Close()
		},
		func(c *rawConn) { // garbage
			c.send([]byte("GET / HTTP/1.1\r\nHost: x\r\n\r\n"))
			c.expectError(sqlerr.ProtocolViolation)
		},
		func(c *rawConn) { // silent until the startup timeout
			c.expectClosed()
		},
	}
	errs := make(chan error, 100)
	for i := 0; i < 3; i++ {
		for _, f := range bad {
			wg.Add(1)
			go func() {
				defer wg.Done()
				nc, err := net.Dial("tcp", ts.addr)
				if err != nil {
					errs <- err
					return
				}
				defer nc.Close()
				nc.SetDeadline(time.Now().Add(10 * time.Second))
				runOff(f, &rawConn{t: goFailer{}, Conn: nc}, errs)
			}()
		}
		wg.Add(1)
		go func() {
			defer wg.Done()
			ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
			defer cancel()
			conn, err := pgx.Connect(ctx, ts.connString("alice", testPassword, "sslmode=disable"))
			if err != nil {
				errs <- fmt.Errorf("good client: %w", err)
				return
			}
			if _, err := conn.Exec(ctx, "SELECT 1"); err != nil {
				errs <- fmt.Errorf("good client: %w", err)
			}
			conn.Close(ctx)
		}()
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Error(err)
	}
	var gone, timeout int
	for _, f := range ts.ev.startupFailures() {
		switch {
		case errors.Is(f.Err, ErrClientGone):
			gone++
		case errors.Is(f.Err, ErrStartupTimeout):
			timeout++
		}
	}
	if gone != 12 || timeout != 3 {
		t.Errorf("%d client-gone and %d timeout events, want 12 and 3", gone, timeout)
	}
}

// firstPackets records the request code (or protocol version) of the
// first packet of each connection.
type firstPackets struct {
	net.Listener
	mu    sync.Mutex
	codes []uint32
}

func (l *firstPackets) Accept() (net.Conn, error) {
	c, err := l.Listener.Accept()
	if err != nil {
		return nil, err
	}
	return &recordingConn{Conn: c, l: l}, nil
}

func (l *firstPackets) seen() []uint32 {
	l.mu.Lock()
	defer l.mu.Unlock()
	return append([]uint32(nil), l.codes...)
}

type recordingConn struct {
	net.Conn
	l    *firstPackets
	head []byte
}

func (c *recordingConn) Read(b []byte) (int, error) {
	n, err := c.Conn.Read(b)
	if len(c.head) < 8 {
		c.head = append(c.head, b[:n]...)
		if len(c.head) >= 8 {
			c.l.mu.Lock()
			c.l.codes = append(c.l.codes, binary.BigEndian.Uint32(c.head[4:8]))
			c.l.mu.Unlock()
		}
	}
	return n, err
}

// writeFakeCCache writes a Kerberos credential cache (file format 4)
// holding a TGT that looks valid for ten hours. With it, libpq built with
// GSSAPI believes it has credentials and, under gssencmode=prefer, opens
// with a GSSENCRequest, as it would in a Kerberos realm.
func writeFakeCCache(t *testing.T, path string) {
	var b []byte
	u32 := func(v uint32) { b = binary.BigEndian.AppendUint32(b, v) }
	data := func(d []byte) { u32(uint32(len(d))); b = append(b, d...) }
	principal := func(nameType uint32, realm string, components ...string) {
		u32(nameType)
		u32(uint32(len(components)))
		data([]byte(realm))
		for _, c := range components {
			data([]byte(c))
		}
	}
	b = binary.BigEndian.AppendUint16(b, 0x0504) // version 4
	b = binary.BigEndian.AppendUint16(b, 0)      // no header fields
	principal(1, "EXAMPLE.COM", "alice")         // default principal
	// One credential: alice's TGT.
	principal(1, "EXAMPLE.COM", "alice")
	principal(2, "EXAMPLE.COM", "krbtgt", "EXAMPLE.COM")
	b = binary.BigEndian.AppendUint16(b, 18) // aes256-cts session key
	data(make([]byte, 32))
	now := uint32(time.Now().Unix())
	u32(now)         // authtime
	u32(now)         // starttime
	u32(now + 36000) // endtime
	u32(now + 36000) // renew till
	b = append(b, 0) // is_skey
	u32(0x40e00000)  // flags: forwardable, renewable, initial, pre-authent
	u32(0)           // addresses
	u32(0)           // authdata
	data([]byte{0x61, 0x03, 0x02, 0x01, 0x05})
	data(nil) // second ticket
	if err := os.WriteFile(path, b, 0o600); err != nil {
		t.Fatal(err)
	}
}

// psql with gssencmode=prefer: libpq (built with GSSAPI, as Debian's is)
// sends GSSENCRequest first when it has Kerberos credentials; the server
// says 'N' and psql goes on in the clear.
func TestPSQLGSSENCPrefer(t *testing.T) {
	var rec *firstPackets
	ts := startServerWrapped(t, func(ln net.Listener) net.Listener {
		rec = &firstPackets{Listener: ln}
		return rec
	}, nil)
	ccache := t.TempDir() + "/ccache"
	writeFakeCCache(t, ccache)
	out, err := psql(t, ts, testPassword, "user=alice sslmode=disable gssencmode=prefer",
		"KRB5CCNAME=FILE:"+ccache, "KRB5_CONFIG=/dev/null")
	if err != nil {
		t.Fatalf("psql: %v\n%s", err, out)
	}
	if seen := rec.seen(); len(seen) == 0 || seen[0] != gssEncRequestCode {
		t.Skipf("psql connected, but libpq did not send GSSENCRequest (first packets %v): built without GSSAPI?", seen)
	}
	// Without credentials libpq skips GSS and still connects.
	if out, err := psql(t, ts, testPassword, "user=alice sslmode=disable gssencmode=prefer"); err != nil {
		t.Fatalf("psql: %v\n%s", err, out)
	}
	if seen := rec.seen(); len(seen) != 2 || seen[1] != v30 {
		t.Fatalf("first packets %v", seen)
	}
}

// FuzzNegotiate feeds arbitrary bytes to the startup phase: it never
// panics, never reads past the packet it parses, and every refusal it
// would send is an *sqlerr.Error.
func FuzzNegotiate(f *testing.F) {
	f.Add(startupPacket(v30, "user", "alice", "database", "app"))
	f.Add(startupPacket(v30|2, "user", "alice", "_pq_.x", "1"))
	f.Add(append(untyped(gssEncRequestCode), startupPacket(v30, "user", "a")...))
	f.Add(append(untyped(sslRequestCode), untyped(sslRequestCode)...))
	f.Add(untyped(cancelRequestCode, 0, 0, 0, 1, 1, 2, 3, 4))
	f.Add([]byte{0, 0, 0, 8, 0, 3, 0, 0})
	f.Add([]byte{0x16, 3, 1, 0})
	s, err := NewServer(Options{Handler: newTestHandler(), Users: lookupUser, MaxStartupMessage: 300})
	if err != nil {
		f.Fatal(err)
	}
	defer s.Close()
	f.Fuzz(func(t *testing.T, in []byte) {
		server, client := net.Pipe()
		defer server.Close()
		server.SetDeadline(time.Now().Add(time.Second))
		done := make(chan struct{})
		go func() {
			defer close(done)
			client.Write(in)
			client.Close()
		}()
		go io.Copy(io.Discard, client)
		n, err := s.negotiate(context.Background(), server)
		server.Close()
		<-done
		if err == nil && (n.startup == nil) == (n.cancel == nil) {
			t.Fatalf("no error, startup %v, cancel %v", n.startup, n.cancel)
		}
		if err == nil && n.startup != nil && n.startup.user == "" {
			t.Fatal("startup without user accepted")
		}
	})
}

func FuzzParseStartupMessage(f *testing.F) {
	f.Add(startupPacket(v30, "user", "alice", "options", "-c x=1")[4:])
	f.Add([]byte{0, 3, 0, 0, 0})
	f.Fuzz(func(t *testing.T, body []byte) {
		if len(body) < 4 {
			return
		}
		m, err := parseStartupMessage(body)
		if err != nil {
			if _, ok := sqlerr.As(err); !ok {
				t.Fatalf("error %v is not an sqlerr.Error", err)
			}
			return
		}
		if m.user == "" || m.database == "" || body[len(body)-1] != 0 {
			t.Fatalf("accepted %q as %+v", body, m)
		}
		for k := range m.params {
			if k == "user" || k == "database" || k == "replication" || strings.HasPrefix(k, "_pq_.") {
				t.Fatalf("%q kept in params", k)
			}
		}
	})
}
