package pgwire

import (
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"net"
	"sync"
	"time"

	"github.com/shardgate/shardgate/auth"
	"github.com/shardgate/shardgate/config"
)

// Handler serves authenticated clients. Its methods are called
// concurrently, from one goroutine per client connection.
type Handler interface {
	// CheckStartup is called after authentication with the client's user,
	// database and startup parameters; an error (an *sqlerr.Error such as
	// 3D000 database does not exist; any other error is sent as an
	// internal error, its text hidden) is sent to the client as FATAL and
	// the connection closed. ctx ends at the startup deadline or on forced
	// shutdown. It returns the ParameterStatus values to announce
	// (server_version, server_encoding, client_encoding, DateStyle,
	// TimeZone, integer_datetimes, standard_conforming_strings,
	// application_name, …); they are sent sorted by name.
	CheckStartup(ctx context.Context, s StartupInfo) (map[string]string, error)
	// ServeSession runs one client after ReadyForQuery was sent, until the
	// client leaves or ctx ends (ctx is cancelled on forced shutdown;
	// c.Draining() is closed when a graceful shutdown starts). It owns c;
	// the server closes c's connection when it returns.
	ServeSession(ctx context.Context, c *ClientConn)
}

// StartupInfo is an authenticated client's StartupMessage and connection.
type StartupInfo struct {
	User     string
	Database string
	// Params are the startup parameters other than user and database (see
	// ClientConn.Params). The map becomes the ClientConn's.
	Params     map[string]string
	RemoteAddr net.Addr
	TLS        bool
}

// Options configure a Server. NewServer applies EnsureDefaults and
// Validate to a copy.
type Options struct {
	// Handler serves authenticated clients. Required.
	Handler Handler
	// Users returns the current SCRAM verifier of a user name, and false
	// for an unknown name. It is called once per login, concurrently, so
	// it can read a configuration that reloads. Required.
	Users func(name string) (auth.SCRAMVerifier, bool)
	// TLS is the server's certificate configuration (see LoadTLSConfig),
	// required when TLSMode is prefer or require. The server adds ALPN
	// "postgresql" to a copy.
	TLS *tls.Config
	// TLSMode: off (default) answers 'N' to SSLRequest; prefer upgrades
	// clients that ask; require also refuses clients that do not (28000).
	TLSMode config.ServerTLSMode
	// MaxClientConns bounds the clients past their StartupMessage (in
	// authentication or in session); the next one gets FATAL 53300. It
	// also bounds the connections still negotiating (see limits.go).
	// Default 1000.
	MaxClientConns int
	// StartupTimeout bounds everything from accept to ReadyForQuery: TLS
	// handshake, authentication, CheckStartup. Default 10s.
	StartupTimeout time.Duration
	// MaxStartupMessage bounds the length of each message before the
	// session: the untyped startup packets and the SASL messages. Default
	// 10000 bytes, as Postgres.
	MaxStartupMessage int
	// Listener receives the server's events; nil callbacks do nothing.
	Listener EventListener
	// Background, if set, runs beside the sessions (the cross-shard
	// deadlock detector, Deadlocks.Run): from the first Serve until
	// Shutdown has waited for every session; then its ctx ends and
	// Shutdown waits for it to return.
	Background func(ctx context.Context)
}

// EnsureDefaults fills unset fields with their defaults and returns o.
func (o *Options) EnsureDefaults() *Options {
	if o.TLSMode == "" {
		o.TLSMode = config.ServerTLSOff
	}
	if o.MaxClientConns == 0 {
		o.MaxClientConns = DefaultMaxClientConns
	}
	if o.StartupTimeout == 0 {
		o.StartupTimeout = DefaultStartupTimeout
	}
	if o.MaxStartupMessage == 0 {
		o.MaxStartupMessage = DefaultMaxStartupMessage
	}
	o.Listener.ensureDefaults()
	return o
}

// Validate reports every problem of o (after EnsureDefaults), joined.
func (o *Options) Validate() error {
	var errs []error
	add := func(format string, args ...any) { errs = append(errs, fmt.Errorf(format, args...)) }
	if o.Handler == nil {
		add("pgwire: Handler is missing")
	}
	if o.Users == nil {
		add("pgwire: Users is missing")
	}
	switch o.TLSMode {
	case config.ServerTLSOff:
	case config.ServerTLSPrefer, config.ServerTLSRequire:
		if o.TLS == nil {
			add("pgwire: TLS mode %s needs a TLS config", o.TLSMode)
		}
	default:
		add("pgwire: TLS mode %q: want off, prefer or require", o.TLSMode)
	}
	if o.MaxClientConns < 1 {
		add("pgwire: MaxClientConns %d: want at least 1", o.MaxClientConns)
	}
	if o.StartupTimeout < 0 {
		add("pgwire: StartupTimeout %s: want a positive duration", o.StartupTimeout)
	}
	if o.MaxStartupMessage < minMaxStartupMessage {
		add("pgwire: MaxStartupMessage %d: want at least %d", o.MaxStartupMessage, minMaxStartupMessage)
	}
	return errors.Join(errs...)
}

// EventListener receives what the server would otherwise log. Callbacks are
// called synchronously from connection goroutines, concurrently: they must
// be quick and safe for concurrent use. Each connection that does not reach
// a session reports exactly one of StartupFailed, AuthFailed or
// CancelRequest.
type EventListener struct {
	// AcceptError: Accept failed with a temporary error (out of file
	// descriptors, say); Serve retries after Delay.
	AcceptError func(AcceptErrorInfo)
	// StartupFailed: a connection ended before its session for a reason
	// other than authentication (protocol error, TLS required, too many
	// clients, TLS handshake, ErrStartupTimeout, ErrClientGone,
	// CheckStartup's error, shutdown).
	StartupFailed func(StartupFailedInfo)
	// AuthFailed: SCRAM authentication failed: wrong password or unknown
	// user (the client sees the same error for both; UnknownUser tells
	// them apart here).
	AuthFailed func(AuthFailedInfo)
	// CancelRequest: a CancelRequest was received.
	CancelRequest func(CancelInfo)
	// SessionStarted: ReadyForQuery was sent; ServeSession is next.
	SessionStarted func(SessionInfo)
	// SessionEnded: ServeSession returned.
	SessionEnded func(SessionInfo)
}

func (l *EventListener) ensureDefaults() {
	if l.AcceptError == nil {
		l.AcceptError = func(AcceptErrorInfo) {}
	}
	if l.StartupFailed == nil {
		l.StartupFailed = func(StartupFailedInfo) {}
	}
	if l.AuthFailed == nil {
		l.AuthFailed = func(AuthFailedInfo) {}
	}
	if l.CancelRequest == nil {
		l.CancelRequest = func(CancelInfo) {}
	}
	if l.SessionStarted == nil {
		l.SessionStarted = func(SessionInfo) {}
	}
	if l.SessionEnded == nil {
		l.SessionEnded = func(SessionInfo) {}
	}
}

// AcceptErrorInfo is the argument of EventListener.AcceptError.
type AcceptErrorInfo struct {
	Err   error
	Delay time.Duration
}

// StartupFailedInfo is the argument of EventListener.StartupFailed.
type StartupFailedInfo struct {
	RemoteAddr net.Addr
	// User is the StartupMessage's user, if it got that far.
	User string
	// Code is the SQLSTATE sent to the client in a FATAL ErrorResponse,
	// or "" when the connection was closed without one.
	Code string
	Err  error
}

// AuthFailedInfo is the argument of EventListener.AuthFailed.
type AuthFailedInfo struct {
	RemoteAddr  net.Addr
	User        string
	Database    string
	UnknownUser bool
}

// CancelInfo is the argument of EventListener.CancelRequest.
type CancelInfo struct {
	RemoteAddr net.Addr
	ProcessID  uint32
	// Matched: the key named a live client. Delivered: its canceler was
	// called (it had one registered).
	Matched, Delivered bool
}

// SessionInfo is the argument of EventListener.SessionStarted and
// SessionEnded.
type SessionInfo struct {
	RemoteAddr net.Addr
	User       string
	Database   string
	ProcessID  uint32
	TLS        bool
	// Duration is the session's length (SessionEnded only).
	Duration time.Duration
}

// ErrServerClosed is returned by Serve after Shutdown or Close.
var ErrServerClosed = errors.New("pgwire: server closed")

// Server is the Postgres wire protocol server: it negotiates TLS,
// authenticates clients with SCRAM-SHA-256, serves cancel requests, and
// hands each authenticated client to the Handler. Every goroutine it starts
// is waited for by Shutdown.
type Server struct {
	opts      Options
	tlsConfig *tls.Config
	mockKey   auth.MockKey

	startupSlots chan struct{}

	// baseCtx is the parent of every session's and startup's context; it
	// is cancelled when Shutdown forces.
	baseCtx    context.Context
	cancelBase context.CancelFunc
	draining   chan struct{}
	drainOnce  sync.Once

	mu           sync.Mutex
	shuttingDown bool
	listeners    map[*net.Listener]struct{}
	conns        map[*trackedConn]struct{}
	clients      int
	keys         map[uint32]*ClientConn

	wg sync.WaitGroup
	// bg runs Options.Background (started by the first Serve).
	bg        sync.WaitGroup
	bgStarted bool
	bgCtx     context.Context
	bgStop    context.CancelFunc
}

// trackedConn is a live connection as Shutdown sees it.
type trackedConn struct {
	nc      net.Conn
	session bool // past ReadyForQuery: Shutdown leaves it to drain
}

// NewServer returns a server for opts.
func NewServer(opts Options) (*Server, error) {
	opts.EnsureDefaults()
	if err := opts.Validate(); err != nil {
		return nil, err
	}
	ctx, cancel := context.WithCancel(context.Background())
	bgCtx, bgStop := context.WithCancel(context.Background())
	return &Server{
		bgCtx:        bgCtx,
		bgStop:       bgStop,
		opts:         opts,
		tlsConfig:    serverTLSConfig(opts.TLS),
		mockKey:      auth.NewMockKey(),
		startupSlots: make(chan struct{}, opts.MaxClientConns),
		baseCtx:      ctx,
		cancelBase:   cancel,
		draining:     make(chan struct{}),
		listeners:    map[*net.Listener]struct{}{},
		conns:        map[*trackedConn]struct{}{},
		keys:         map[uint32]*ClientConn{},
	}, nil
}

// Serve accepts connections on ln and serves each on its own goroutine,
// until Shutdown or Close (then it returns ErrServerClosed) or a
// non-temporary Accept error. It always closes ln. It may be called for
// several listeners.
func (s *Server) Serve(ln net.Listener) error {
	s.mu.Lock()
	if s.shuttingDown {
		s.mu.Unlock()
		ln.Close()
		return ErrServerClosed
	}
	s.listeners[&ln] = struct{}{}
	s.wg.Add(1)
	if s.opts.Background != nil && !s.bgStarted {
		s.bgStarted = true
		s.bg.Add(1)
		go func() { defer s.bg.Done(); s.opts.Background(s.bgCtx) }()
	}
	s.mu.Unlock()
	defer s.wg.Done()
	defer func() {
		s.mu.Lock()
		delete(s.listeners, &ln)
		s.mu.Unlock()
		ln.Close()
	}()

	var delay time.Duration
	for {
		select {
		case s.startupSlots <- struct{}{}:
		case <-s.draining:
			return ErrServerClosed
		}
		nc, err := ln.Accept()
		if err != nil {
			<-s.startupSlots
			if s.isDraining() {
				return ErrServerClosed
			}
			var te interface{ Temporary() bool }
			if !errors.As(err, &te) || !te.Temporary() {
				return err
			}
			delay = min(max(2*delay, 5*time.Millisecond), time.Second)
			s.opts.Listener.AcceptError(AcceptErrorInfo{Err: err, Delay: delay})
			t := time.NewTimer(delay)
			select {
			case <-t.C:
			case <-s.draining:
				t.Stop()
				return ErrServerClosed
			}
			continue
		}
		delay = 0
		s.wg.Add(1)
		go s.serveConn(nc)
	}
}

// Shutdown stops accepting, refuses clients still in startup (57P03) and
// asks sessions to drain by closing their Draining channel, then waits for
// every goroutine of the server. If ctx ends first it forces: session
// contexts are cancelled and every connection closed; it still waits for
// every goroutine, then returns ctx's error.
func (s *Server) Shutdown(ctx context.Context) error {
	defer s.bg.Wait()
	defer s.bgStop() // after the sessions: a draining transaction may still deadlock
	s.mu.Lock()
	s.shuttingDown = true
	s.drainOnce.Do(func() { close(s.draining) })
	var err error
	for ln := range s.listeners {
		if cerr := (*ln).Close(); cerr != nil && !errors.Is(cerr, net.ErrClosed) && err == nil {
			err = cerr
		}
	}
	for tc := range s.conns {
		// Interrupt reads: a client in the startup phase is answered 57P03
		// and closed (see readError); a session idle outside a transaction
		// ends, one inside a transaction reads on until it finishes.
		tc.nc.SetReadDeadline(time.Now())
	}
	s.mu.Unlock()

	done := make(chan struct{})
	go func() {
		s.wg.Wait()
		close(done)
	}()
	select {
	case <-done:
		return err
	case <-ctx.Done():
		select {
		case <-done: // both ready: nothing needed forcing
			return err
		default:
		}
	}
	s.cancelBase()
	s.mu.Lock()
	for tc := range s.conns {
		tc.nc.Close()
	}
	s.mu.Unlock()
	<-done
	return ctx.Err()
}

// Close is Shutdown without the grace period: sessions are cancelled and
// connections closed at once. It waits for every goroutine.
func (s *Server) Close() error {
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if err := s.Shutdown(ctx); err != nil && !errors.Is(err, context.Canceled) {
		return err
	}
	return nil
}

func (s *Server) isDraining() bool {
	select {
	case <-s.draining:
		return true
	default:
		return false
	}
}

// track adds a connection for Shutdown to see; false when shutting down.
func (s *Server) track(tc *trackedConn) bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.shuttingDown {
		return false
	}
	s.conns[tc] = struct{}{}
	return true
}

func (s *Server) untrack(tc *trackedConn) {
	s.mu.Lock()
	delete(s.conns, tc)
	s.mu.Unlock()
}

// enterSession moves a connection out of the startup phase, unless the
// server is shutting down.
func (s *Server) enterSession(tc *trackedConn) bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.shuttingDown {
		return false
	}
	tc.session = true
	return true
}
