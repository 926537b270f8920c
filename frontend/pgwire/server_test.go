package pgwire

import (
	"bufio"
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"net"
	"os"
	osexec "os/exec"
	"runtime"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"
	"github.com/jackc/pgx/v5/pgproto3"

	"github.com/shardgate/shardgate/auth"
	"github.com/shardgate/shardgate/config"
	"github.com/shardgate/shardgate/internal/selfsign"
	"github.com/shardgate/shardgate/internal/sqlerr"
)

// TestMain fails the package if any goroutine of a Server outlives the
// tests: every test shuts its servers down, and Shutdown must wait for all.
func TestMain(m *testing.M) {
	code := m.Run()
	if code == 0 {
		if stacks := waitServerGoroutines(5 * time.Second); stacks != "" {
			fmt.Fprintf(os.Stderr, "server goroutines left after the tests:\n%s\n", stacks)
			code = 1
		}
	}
	os.Exit(code)
}

// serverGoroutines returns the stacks of goroutines running a Server
// method (Serve, a connection, a canceler), goleak-style.
func serverGoroutines() string {
	buf := make([]byte, 1<<20)
	buf = buf[:runtime.Stack(buf, true)]
	var left []string
	for _, g := range strings.Split(string(buf), "\n\n") {
		if strings.Contains(g, "pgwire.(*Server)") {
			left = append(left, g)
		}
	}
	return strings.Join(left, "\n\n")
}

func waitServerGoroutines(timeout time.Duration) string {
	deadline := time.Now().Add(timeout)
	for {
		s := serverGoroutines()
		if s == "" || time.Now().After(deadline) {
			return s
		}
		time.Sleep(10 * time.Millisecond)
	}
}

const testPassword = "s3cret pässword"

// testUsers has alice and bob; bob's verifier is made with 4096 iterations
// like every real one.
var testUsers = sync.OnceValue(func() map[string]auth.SCRAMVerifier {
	users := map[string]auth.SCRAMVerifier{}
	for _, name := range []string{"alice", "bob"} {
		v, err := auth.NewSCRAMVerifier(testPassword, []byte("salt-of-"+name), auth.SCRAMIterations)
		if err != nil {
			panic(err)
		}
		users[name] = v
	}
	return users
})

func lookupUser(name string) (auth.SCRAMVerifier, bool) {
	v, ok := testUsers()[name]
	return v, ok
}

// testHandler is the trivial session of the tests: each simple Query gets
// CommandComplete "SELECT 0" and ReadyForQuery; Terminate ends it. A
// session that sees Draining closed while idle says goodbye (57P01) and
// leaves, unless ignoreDrain.
type testHandler struct {
	ignoreDrain bool
	// block makes sessions ignore their connection too: they wait for
	// their context only (a session stuck in a backend call, say).
	block bool

	mu       sync.Mutex
	sessions map[uint32]*testSession
	byApp    map[string]*testSession
	started  chan *testSession
}

type testSession struct {
	c       *ClientConn
	cancels atomic.Int64
	done    chan struct{}
}

func newTestHandler() *testHandler {
	return &testHandler{
		sessions: map[uint32]*testSession{},
		byApp:    map[string]*testSession{},
		started:  make(chan *testSession, 1024),
	}
}

func (h *testHandler) CheckStartup(ctx context.Context, s StartupInfo) (map[string]string, error) {
	if s.Database == "nodb" {
		return nil, sqlerr.New("3D000", `database "%s" does not exist`, s.Database)
	}
	if s.Database == "boom" {
		return nil, errors.New("dial tcp 10.1.2.3:5432: secret internal address")
	}
	return map[string]string{
		"server_version":              "16.0 (shardgate)",
		"server_encoding":             "UTF8",
		"client_encoding":             "UTF8",
		"DateStyle":                   "ISO, MDY",
		"TimeZone":                    "UTC",
		"integer_datetimes":           "on",
		"standard_conforming_strings": "on",
		"application_name":            s.Params["application_name"],
	}, nil
}

// session returns the session with pid, waiting a little for it: a
// client may see ReadyForQuery before ServeSession has registered.
func (h *testHandler) session(pid uint32) *testSession {
	return waitLookup(func() *testSession { return h.sessions[pid] }, &h.mu)
}

func waitLookup(get func() *testSession, mu *sync.Mutex) *testSession {
	for deadline := time.Now().Add(2 * time.Second); ; {
		mu.Lock()
		s := get()
		mu.Unlock()
		if s != nil || time.Now().After(deadline) {
			return s
		}
		time.Sleep(5 * time.Millisecond)
	}
}

func (h *testHandler) all() []*testSession {
	h.mu.Lock()
	defer h.mu.Unlock()
	var all []*testSession
	for _, s := range h.sessions {
		all = append(all, s)
	}
	return all
}

func (h *testHandler) app(name string) *testSession {
	return waitLookup(func() *testSession { return h.byApp[name] }, &h.mu)
}

func (h *testHandler) ServeSession(ctx context.Context, c *ClientConn) {
	ts := &testSession{c: c, done: make(chan struct{})}
	defer close(ts.done)
	c.SetCanceler(func() { ts.cancels.Add(1) })
	h.mu.Lock()
	h.sessions[c.ProcessID] = ts
	if app := c.Params["application_name"]; app != "" {
		h.byApp[app] = ts
	}
	h.mu.Unlock()
	h.started <- ts

	if h.block {
		<-ctx.Done()
		return
	}
	conn := c.Conn()
	drain := c.Draining()
	if h.ignoreDrain {
		drain = nil
	}
	stop := make(chan struct{})
	var wg sync.WaitGroup
	wg.Add(1)
	go func() {
		defer wg.Done()
		select {
		case <-ctx.Done():
		case <-drain:
		case <-stop:
			return
		}
		conn.SetReadDeadline(time.Unix(1, 0))
	}()
	defer func() {
		close(stop)
		wg.Wait()
	}()

	r := bufio.NewReader(conn)
	for {
		typ, _, err := readTestMessage(r)
		var ne net.Error
		if err != nil && h.ignoreDrain && errors.As(err, &ne) && ne.Timeout() && ctx.Err() == nil {
			// Like a session inside a long transaction: the drain's read
			// deadline does not end it.
			conn.SetReadDeadline(time.Time{})
			continue
		}
		if err != nil {
			select {
			case <-drain:
				conn.Write(AppendError(nil, SeverityFatal, sqlerr.New(sqlerr.AdminShutdown, "terminating connection due to administrator command")))
			default:
			}
			return
		}
		var out []byte
		switch typ {
		case 'Q':
			out, _ = (&pgproto3.CommandComplete{CommandTag: []byte("SELECT 0")}).Encode(out)
		case 'X':
			return
		default:
			out = AppendError(out, SeverityError, sqlerr.New(sqlerr.FeatureNotSupported, "message type %q is not supported by the test handler", typ))
		}
		out, _ = (&pgproto3.ReadyForQuery{TxStatus: 'I'}).Encode(out)
		if _, err := conn.Write(out); err != nil {
			return
		}
	}
}

func readTestMessage(r io.Reader) (byte, []byte, error) {
	var hdr [5]byte
	if _, err := io.ReadFull(r, hdr[:]); err != nil {
		return 0, nil, err
	}
	n := binary.BigEndian.Uint32(hdr[1:])
	if n < 4 || n > 1<<20 {
		return 0, nil, errors.New("bad length")
	}
	body := make([]byte, n-4)
	_, err := io.ReadFull(r, body)
	return hdr[0], body, err
}

// events records what the server reports.
type events struct {
	mu            sync.Mutex
	startupFailed []StartupFailedInfo
	authFailed    []AuthFailedInfo
	cancels       []CancelInfo
	started       []SessionInfo
	ended         []SessionInfo
}

func (e *events) listener() EventListener {
	return EventListener{
		StartupFailed: func(i StartupFailedInfo) { e.mu.Lock(); e.startupFailed = append(e.startupFailed, i); e.mu.Unlock() },
		AuthFailed:    func(i AuthFailedInfo) { e.mu.Lock(); e.authFailed = append(e.authFailed, i); e.mu.Unlock() },
		CancelRequest: func(i CancelInfo) { e.mu.Lock(); e.cancels = append(e.cancels, i); e.mu.Unlock() },
		SessionStarted: func(i SessionInfo) {
			e.mu.Lock()
			e.started = append(e.started, i)
			e.mu.Unlock()
		},
		SessionEnded: func(i SessionInfo) { e.mu.Lock(); e.ended = append(e.ended, i); e.mu.Unlock() },
	}
}

func (e *events) startupFailures() []StartupFailedInfo {
	e.mu.Lock()
	defer e.mu.Unlock()
	return append([]StartupFailedInfo(nil), e.startupFailed...)
}

func (e *events) authFailures() []AuthFailedInfo {
	e.mu.Lock()
	defer e.mu.Unlock()
	return append([]AuthFailedInfo(nil), e.authFailed...)
}

type testServer struct {
	*Server
	addr     string
	port     string
	h        *testHandler
	ev       *events
	certFile string
	serveErr chan error
}

// startServer serves on a free loopback port until the test ends. edit
// changes the options before NewServer.
func startServer(t *testing.T, edit func(*Options)) *testServer {
	t.Helper()
	return startServerWrapped(t, nil, edit)
}

// startServerWrapped is startServer with the listener wrapped by wrap.
func startServerWrapped(t *testing.T, wrap func(net.Listener) net.Listener, edit func(*Options)) *testServer {
	t.Helper()
	ts := &testServer{h: newTestHandler(), ev: &events{}, serveErr: make(chan error, 1)}
	opts := Options{Handler: ts.h, Users: lookupUser, Listener: ts.ev.listener()}
	if edit != nil {
		edit(&opts)
	}
	srv, err := NewServer(opts)
	if err != nil {
		t.Fatal(err)
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	if wrap != nil {
		ln = wrap(ln)
	}
	ts.Server, ts.addr = srv, ln.Addr().String()
	_, ts.port, _ = net.SplitHostPort(ts.addr)
	go func() { ts.serveErr <- srv.Serve(ln) }()
	t.Cleanup(func() { ts.stop(t, 5*time.Second) })
	return ts
}

// stop shuts the server down (idempotent) and checks Serve's result.
func (ts *testServer) stop(t *testing.T, grace time.Duration) error {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), grace)
	defer cancel()
	err := ts.Shutdown(ctx)
	select {
	case serr := <-ts.serveErr:
		if !errors.Is(serr, ErrServerClosed) {
			t.Errorf("Serve returned %v, want ErrServerClosed", serr)
		}
	default:
		// Already collected by an earlier stop.
	}
	return err
}

// tlsFiles makes a self-signed certificate for 127.0.0.1 and localhost.
func tlsFiles(t *testing.T) (certFile, keyFile string) {
	t.Helper()
	dir := t.TempDir()
	certFile, keyFile = dir+"/server.crt", dir+"/server.key"
	if err := selfsign.WriteFiles(certFile, keyFile, []string{"127.0.0.1", "localhost"}); err != nil {
		t.Fatal(err)
	}
	return certFile, keyFile
}

// withTLS sets up TLS in mode, with a fresh self-signed certificate.
func withTLS(t *testing.T, mode config.ServerTLSMode, certFile *string) func(*Options) {
	return func(o *Options) {
		cf, kf := tlsFiles(t)
		c, err := LoadTLSConfig(config.ServerTLS{Mode: mode, CertFile: cf, KeyFile: kf})
		if err != nil {
			t.Fatal(err)
		}
		o.TLS, o.TLSMode = c, mode
		if certFile != nil {
			*certFile = cf
		}
	}
}

func (ts *testServer) connString(user, password, extra string) string {
	return fmt.Sprintf("host=127.0.0.1 port=%s user=%s password='%s' dbname=app connect_timeout=10 %s", ts.port, user, password, extra)
}

func connect(t *testing.T, ts *testServer, user, password, extra string) (*pgx.Conn, error) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	conn, err := pgx.Connect(ctx, ts.connString(user, password, extra))
	if err == nil {
		t.Cleanup(func() { conn.Close(context.Background()) })
	}
	return conn, err
}

// pgError returns the server's error inside a connect or query error.
func pgError(t *testing.T, err error) *pgconn.PgError {
	t.Helper()
	var pe *pgconn.PgError
	if !errors.As(err, &pe) {
		t.Fatalf("want a server error, got %v", err)
	}
	return pe
}

func execSQL(t *testing.T, conn *pgx.Conn, sql string) string {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	tag, err := conn.Exec(ctx, sql)
	if err != nil {
		t.Fatalf("%s: %v", sql, err)
	}
	return tag.String()
}

func TestConnectAndQuery(t *testing.T) {
	ts := startServer(t, nil)
	conn, err := connect(t, ts, "alice", testPassword, "sslmode=disable application_name=q1 search_path=s1 options='-c work_mem=1MB'")
	if err != nil {
		t.Fatal(err)
	}
	if tag := execSQL(t, conn, "SELECT 1"); tag != "SELECT 0" {
		t.Fatalf("tag %q", tag)
	}
	if got := conn.PgConn().ParameterStatus("server_version"); got != "16.0 (shardgate)" {
		t.Fatalf("server_version %q", got)
	}
	s := ts.h.app("q1")
	if s == nil {
		t.Fatal("no session for application_name q1")
	}
	c := s.c
	if c.User != "alice" || c.Database != "app" || c.TLS() {
		t.Fatalf("session %+v tls=%v", c, c.TLS())
	}
	if c.Params["search_path"] != "s1" || c.Params["options"] != "-c work_mem=1MB" {
		t.Fatalf("params %v", c.Params)
	}
	if _, ok := c.Params["user"]; ok {
		t.Fatal("user is in Params")
	}
	if c.ProcessID != conn.PgConn().PID() || c.ProcessID == 0 || c.ProcessID > 1<<31-1 {
		t.Fatalf("ProcessID %d, client has %d", c.ProcessID, conn.PgConn().PID())
	}
	var key [4]byte
	binary.BigEndian.PutUint32(key[:], c.SecretKey)
	if string(conn.PgConn().SecretKey()) != string(key[:]) {
		t.Fatal("SecretKey differs from the client's")
	}
	conn.Close(context.Background())
	select {
	case <-s.done:
	case <-time.After(5 * time.Second):
		t.Fatal("session did not end after Terminate")
	}
}

func TestDatabaseDefaultsToUser(t *testing.T) {
	ts := startServer(t, nil)
	conn, err := pgx.Connect(context.Background(),
		fmt.Sprintf("host=127.0.0.1 port=%s user=bob password='%s' sslmode=disable application_name=d1", ts.port, testPassword))
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close(context.Background())
	if db := ts.h.app("d1").c.Database; db != "bob" {
		t.Fatalf("database %q, want bob", db)
	}
}

func TestWrongPasswordAndUnknownUser(t *testing.T) {
	ts := startServer(t, nil)
	_, err := connect(t, ts, "alice", "wrong", "sslmode=disable")
	wrong := pgError(t, err)
	if wrong.Code != sqlerr.InvalidPassword || wrong.Severity != "FATAL" || wrong.Message != `password authentication failed for user "alice"` {
		t.Fatalf("wrong password: %+v", wrong)
	}
	_, err = connect(t, ts, "mallory", testPassword, "sslmode=disable")
	unknown := pgError(t, err)
	if unknown.Code != sqlerr.InvalidPassword || unknown.Message != `password authentication failed for user "mallory"` {
		t.Fatalf("unknown user: %+v", unknown)
	}
	// Byte-for-byte the same error apart from the name.
	if strings.ReplaceAll(unknown.Message, "mallory", "alice") != wrong.Message ||
		unknown.Detail != wrong.Detail || unknown.Hint != wrong.Hint || unknown.Severity != wrong.Severity {
		t.Fatalf("errors differ:\n%+v\n%+v", wrong, unknown)
	}
	got := ts.ev.authFailures()
	if len(got) != 2 || got[0].UnknownUser || !got[1].UnknownUser || got[1].User != "mallory" || got[1].Database != "app" {
		t.Fatalf("AuthFailed events: %+v", got)
	}
	if f := ts.ev.startupFailures(); len(f) != 0 {
		t.Fatalf("auth failures also reported as StartupFailed: %+v", f)
	}
	// The server goes on serving.
	if _, err := connect(t, ts, "alice", testPassword, "sslmode=disable"); err != nil {
		t.Fatal(err)
	}
}

func TestCheckStartupErrors(t *testing.T) {
	ts := startServer(t, nil)
	_, err := connect(t, ts, "alice", testPassword, "sslmode=disable dbname=nodb")
	if pe := pgError(t, err); pe.Code != "3D000" || pe.Message != `database "nodb" does not exist` || pe.Severity != "FATAL" {
		t.Fatalf("%+v", pe)
	}
	_, err = connect(t, ts, "alice", testPassword, "sslmode=disable dbname=boom")
	pe := pgError(t, err)
	if pe.Code != sqlerr.InternalError || strings.Contains(pe.Message, "10.1.2.3") {
		t.Fatalf("internal error leaked or wrong: %+v", pe)
	}
}

func TestNewServerValidates(t *testing.T) {
	for _, tc := range []struct {
		name string
		opts Options
		want string
	}{
		{"no handler", Options{Users: lookupUser}, "Handler"},
		{"no users", Options{Handler: newTestHandler()}, "Users"},
		{"tls without config", Options{Handler: newTestHandler(), Users: lookupUser, TLSMode: config.ServerTLSRequire}, "needs a TLS config"},
		{"bad mode", Options{Handler: newTestHandler(), Users: lookupUser, TLSMode: "maybe"}, "maybe"},
		{"negative limit", Options{Handler: newTestHandler(), Users: lookupUser, MaxClientConns: -1}, "MaxClientConns"},
		{"tiny message", Options{Handler: newTestHandler(), Users: lookupUser, MaxStartupMessage: 10}, "MaxStartupMessage"},
	} {
		_, err := NewServer(tc.opts)
		if err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%s: %v, want an error about %s", tc.name, err, tc.want)
		}
	}
	o := (&Options{}).EnsureDefaults()
	if o.MaxClientConns != 1000 || o.StartupTimeout != 10*time.Second || o.MaxStartupMessage != 10000 || o.TLSMode != config.ServerTLSOff {
		t.Fatalf("defaults %+v", o)
	}
}

func TestServeAfterShutdown(t *testing.T) {
	ts := startServer(t, nil)
	ts.stop(t, time.Second)
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	if err := ts.Serve(ln); !errors.Is(err, ErrServerClosed) {
		t.Fatalf("Serve after Shutdown: %v", err)
	}
	if _, err := ln.Accept(); err == nil {
		t.Fatal("Serve left the listener open")
	}
}

// psql runs `psql -c "SELECT 1"` against ts with conninfo and extra
// environment variables, the password in PGPASSWORD.
func psql(t *testing.T, ts *testServer, password, conninfo string, env ...string) (string, error) {
	t.Helper()
	path, err := osexec.LookPath("psql")
	if err != nil {
		t.Skip("psql is not installed")
	}
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	cmd := osexec.CommandContext(ctx, path, "-X", "-w", "-v", "ON_ERROR_STOP=1",
		"-d", fmt.Sprintf("host=127.0.0.1 port=%s dbname=app connect_timeout=10 %s", ts.port, conninfo),
		"-c", "SELECT 1")
	for _, kv := range os.Environ() {
		if !strings.HasPrefix(kv, "PG") && !strings.HasPrefix(kv, "KRB5") {
			cmd.Env = append(cmd.Env, kv)
		}
	}
	cmd.Env = append(cmd.Env, "PGPASSWORD="+password, "HOME="+t.TempDir())
	cmd.Env = append(cmd.Env, env...)
	out, err := cmd.CombinedOutput()
	return string(out), err
}

func TestPSQL(t *testing.T) {
	ts := startServer(t, nil)
	out, err := psql(t, ts, testPassword, "user=alice sslmode=disable gssencmode=disable")
	if err != nil {
		t.Fatalf("psql: %v\n%s", err, out)
	}
	if !strings.Contains(out, "SELECT 0") {
		t.Fatalf("psql printed %q, want the handler's SELECT 0", out)
	}
	out, err = psql(t, ts, "wrong", "user=alice sslmode=disable gssencmode=disable")
	var ee *osexec.ExitError
	if !errors.As(err, &ee) || ee.ExitCode() != 2 || !strings.Contains(out, `password authentication failed for user "alice"`) {
		t.Fatalf("wrong password: %v\n%s", err, out)
	}
}

func TestPSQLOverTLS(t *testing.T) {
	var certFile string
	ts := startServer(t, withTLS(t, config.ServerTLSRequire, &certFile))
	out, err := psql(t, ts, testPassword, "user=alice sslmode=verify-full sslrootcert="+certFile+" application_name=psqltls")
	if err != nil {
		t.Fatalf("psql: %v\n%s", err, out)
	}
	if s := ts.h.app("psqltls"); s == nil || !s.c.TLS() {
		t.Fatal("psql's session is not over TLS")
	}
	out, err = psql(t, ts, testPassword, "user=alice sslmode=disable")
	if err == nil || !strings.Contains(out, "SSL/TLS required") {
		t.Fatalf("psql without TLS against require: %v\n%s", err, out)
	}
}

func TestShutdownDrains(t *testing.T) {
	before := runtime.NumGoroutine()
	ts := startServer(t, nil)
	var conns []*pgx.Conn
	for i := 0; i < 3; i++ {
		conn, err := connect(t, ts, "alice", testPassword, "sslmode=disable")
		if err != nil {
			t.Fatal(err)
		}
		conns = append(conns, conn)
	}
	session := dialRaw(t, ts)
	session.login("bob", nil)
	inAuth := dialRaw(t, ts)
	inAuth.send(startupPacket(v30, "user", "alice"))
	inAuth.expectSASL()

	start := time.Now()
	if err := ts.stop(t, 5*time.Second); err != nil {
		t.Fatalf("Shutdown: %v", err)
	}
	if d := time.Since(start); d > 2*time.Second {
		t.Fatalf("drain took %s", d)
	}
	// Sessions were told why, at their next message boundary.
	e := session.expectError(sqlerr.AdminShutdown)
	if e.Message != "terminating connection due to administrator command" {
		t.Fatalf("%+v", e)
	}
	// The client in authentication was refused.
	if e := inAuth.expectError(sqlCannotConnectNow); e.Message != "the database system is shutting down" {
		t.Fatalf("%+v", e)
	}
	for _, conn := range conns {
		if _, err := conn.Exec(context.Background(), "SELECT 1"); err == nil {
			t.Fatal("query after shutdown succeeded")
		}
		conn.Close(context.Background())
	}
	if s := waitServerGoroutines(2 * time.Second); s != "" {
		t.Fatalf("goroutines left after Shutdown returned:\n%s", s)
	}
	ts.ev.mu.Lock()
	ended := len(ts.ev.ended)
	ts.ev.mu.Unlock()
	if ended != 4 {
		t.Fatalf("%d SessionEnded events, want 4", ended)
	}
	// New clients are refused.
	if _, err := net.DialTimeout("tcp", ts.addr, time.Second); err == nil {
		t.Fatal("still accepting")
	}
	waitGoroutines(t, before)
}

// waitGoroutines waits for the goroutine count to come back to before (or
// below): no goroutine of the server, nor of a connection, is left.
func waitGoroutines(t *testing.T, before int) {
	t.Helper()
	deadline := time.Now().Add(5 * time.Second)
	for runtime.NumGoroutine() > before {
		if time.Now().After(deadline) {
			buf := make([]byte, 1<<20)
			t.Fatalf("%d goroutines, %d before:\n%s", runtime.NumGoroutine(), before, buf[:runtime.Stack(buf, true)])
		}
		time.Sleep(10 * time.Millisecond)
	}
}

// Sessions stuck where they do not look at their connection or Draining
// are cancelled through their context when the grace period ends.
func TestShutdownForces(t *testing.T) {
	for _, tc := range []struct {
		name string
		edit func(h *testHandler)
	}{
		{"session waits for its context only", func(h *testHandler) { h.block = true }},
		{"session ignores Draining", func(h *testHandler) { h.ignoreDrain = true }},
	} {
		t.Run(tc.name, func(t *testing.T) {
			before := runtime.NumGoroutine()
			ts := startServer(t, func(o *Options) { tc.edit(o.Handler.(*testHandler)) })
			var conns []*pgx.Conn
			for i := 0; i < 3; i++ {
				conn, err := connect(t, ts, "alice", testPassword, "sslmode=disable")
				if err != nil {
					t.Fatal(err)
				}
				conns = append(conns, conn)
			}
			start := time.Now()
			err := ts.stop(t, 200*time.Millisecond)
			if !errors.Is(err, context.DeadlineExceeded) {
				t.Fatalf("Shutdown: %v, want DeadlineExceeded", err)
			}
			if d := time.Since(start); d < 200*time.Millisecond || d > 3*time.Second {
				t.Fatalf("Shutdown returned after %s", d)
			}
			if s := waitServerGoroutines(2 * time.Second); s != "" {
				t.Fatalf("goroutines left after Shutdown returned:\n%s", s)
			}
			for _, s := range ts.h.all() {
				select {
				case <-s.done:
				default:
					t.Fatal("a session is still running")
				}
			}
			for _, conn := range conns {
				if _, err := conn.Exec(context.Background(), "SELECT 1"); err == nil {
					t.Fatal("query after forced shutdown succeeded")
				}
				conn.Close(context.Background())
			}
			waitGoroutines(t, before)
		})
	}
}

func TestCloseAndSeveralListeners(t *testing.T) {
	ts := startServer(t, nil)
	ln2, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	serve2 := make(chan error, 1)
	go func() { serve2 <- ts.Serve(ln2) }()
	_, port2, _ := net.SplitHostPort(ln2.Addr().String())
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	conn, err := pgx.Connect(ctx, fmt.Sprintf("host=127.0.0.1 port=%s user=alice password='%s' sslmode=disable", port2, testPassword))
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close(ctx)
	if err := ts.Close(); err != nil {
		t.Fatal(err)
	}
	if err := <-serve2; !errors.Is(err, ErrServerClosed) {
		t.Fatalf("second Serve: %v", err)
	}
	if s := waitServerGoroutines(2 * time.Second); s != "" {
		t.Fatalf("goroutines left after Close:\n%s", s)
	}
	if _, err := conn.Exec(ctx, "SELECT 1"); err == nil {
		t.Fatal("query after Close succeeded")
	}
}
