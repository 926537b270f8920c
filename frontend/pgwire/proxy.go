package pgwire

import (
	"context"
	"strings"
	"sync"

	"github.com/shardgate/shardgate/internal/pgio"
	"github.com/shardgate/shardgate/internal/sqlerr"
	"github.com/shardgate/shardgate/shardmap"
)

// Proxy is the Handler that makes the Server a sharding proxy: each
// authenticated client gets a session that routes its statements to shards.
type Proxy struct {
	opts    SessionOptions
	catalog *catalog

	mu     sync.Mutex
	params map[string]map[string]string // keyspace → server's ParameterStatus values
}

// NewProxy returns a Handler serving sessions with opts.
func NewProxy(opts SessionOptions) *Proxy {
	if opts.Stats == nil {
		opts.Stats = new(Stats)
	}
	if opts.Buffers == nil {
		opts.Buffers = pgio.NewBufferPool(0)
	}
	p := &Proxy{opts: opts, params: make(map[string]map[string]string)}
	p.catalog = newCatalog(opts.Conns)
	p.opts.catalog = p.catalog
	if p.opts.idle == nil {
		p.opts.idle = newIdleBuffers(idleBuffersPeriod)
	}
	return p
}

// ParameterStatuser is implemented by server connections that report the
// server's ParameterStatus values.
type ParameterStatuser interface {
	ParameterStatuses() map[string]string
}

// announced are the server parameters a client is told at startup.
var announced = []string{"server_version", "server_encoding", "client_encoding", "DateStyle", "IntervalStyle",
	"TimeZone", "integer_datetimes", "standard_conforming_strings", "application_name", "is_superuser", "session_authorization"}

// CheckStartup implements Handler: the database must be a Postgres
// keyspace, and the client is told the parameters of its servers.
func (p *Proxy) CheckStartup(ctx context.Context, si StartupInfo) (map[string]string, error) {
	if si.Database == AdminDatabase && p.opts.Admin != nil {
		return adminParams(si), nil
	}
	for _, kv := range parseOptions(si.Params["options"]) {
		name, value, _ := strings.Cut(kv, "=")
		if name = strings.ToLower(strings.ReplaceAll(name, "-", "_")); strings.HasPrefix(name, "shardgate.") {
			check := &session{opts: &p.opts}
			if err := check.setShardgate(name, strings.ToLower(value)); err != nil {
				return nil, err
			}
		}
	}
	snap := p.opts.Snapshot()
	ks, ok := snap.Keyspace(shardmap.Postgres, si.Database)
	if !ok {
		return nil, sqlerr.New("3D000", "database %q does not exist", si.Database)
	}
	server, err := p.serverParams(ctx, ks)
	if err != nil {
		return nil, err
	}
	out := make(map[string]string, len(announced))
	for _, name := range announced {
		if v, ok := server[name]; ok {
			out[name] = v
		}
	}
	for _, name := range startupSettings {
		if v, ok := si.Params[name]; ok {
			out[name] = v
		}
	}
	out["session_authorization"] = si.User
	out["is_superuser"] = "off"
	if _, ok := si.Params["application_name"]; !ok {
		out["application_name"] = ""
	}
	return out, nil
}

// serverParams asks a server of the keyspace once, then remembers.
func (p *Proxy) serverParams(ctx context.Context, ks *shardmap.Keyspace) (map[string]string, error) {
	p.mu.Lock()
	cached, ok := p.params[ks.Name()]
	p.mu.Unlock()
	if ok {
		return cached, nil
	}
	conn, err := p.opts.Conns.Acquire(ctx, ks.Shards()[0])
	if err != nil {
		return nil, err
	}
	params := map[string]string{}
	if ps, ok := conn.(ParameterStatuser); ok {
		params = ps.ParameterStatuses()
	}
	p.opts.Conns.Release(conn)
	p.mu.Lock()
	p.params[ks.Name()] = params
	p.mu.Unlock()
	return params, nil
}

// ServeSession implements Handler.
func (p *Proxy) ServeSession(ctx context.Context, c *ClientConn) {
	if c.Database == AdminDatabase && p.opts.Admin != nil {
		serveAdmin(ctx, &p.opts, c)
		return
	}
	newSession(ctx, &p.opts, c).serve()
}
