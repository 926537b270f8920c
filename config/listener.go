package config

import (
	"net"
	"net/netip"
	"strconv"
)

// Listeners are the proxy's listening sockets. An omitted block is disabled.
type Listeners struct {
	// Postgres serves the Postgres wire protocol (default address
	// 127.0.0.1:6432 when the block is present).
	Postgres *Listener `yaml:"postgres,omitempty"`
	// MySQL serves the MySQL wire protocol (default 127.0.0.1:3307).
	MySQL *Listener `yaml:"mysql,omitempty"`
	// Admin serves /metrics, /status and the JSON API over HTTP (default
	// 127.0.0.1:9090).
	Admin *AdminListener `yaml:"admin,omitempty"`
}

// Listener is a client-facing SQL listener.
type Listener struct {
	// Address is host:port; an empty host listens on every interface, port
	// 0 on a free port (for tests).
	Address string    `yaml:"address"`
	TLS     ServerTLS `yaml:"tls,omitzero"`
}

// ServerTLSMode says whether clients may or must use TLS.
type ServerTLSMode string

const (
	// ServerTLSOff refuses TLS (the default).
	ServerTLSOff ServerTLSMode = "off"
	// ServerTLSPrefer offers TLS and accepts clear-text clients too.
	ServerTLSPrefer ServerTLSMode = "prefer"
	// ServerTLSRequire refuses clients that do not use TLS.
	ServerTLSRequire ServerTLSMode = "require"
)

func (m ServerTLSMode) String() string { return string(m) }

// ServerTLS is a listener's TLS setting. The certificate and key are PEM
// files, read when the listener starts.
type ServerTLS struct {
	Mode     ServerTLSMode `yaml:"mode,omitempty"`
	CertFile string        `yaml:"cert_file,omitempty"`
	KeyFile  string        `yaml:"key_file,omitempty"`
}

// AdminListener is the HTTP admin endpoint. It exposes the topology and pool
// state without authentication, so it must listen on a loopback address
// unless AllowRemote says otherwise.
type AdminListener struct {
	Address     string `yaml:"address"`
	AllowRemote bool   `yaml:"allow_remote,omitempty"`
}

const (
	defaultPostgresAddress = "127.0.0.1:6432"
	defaultMySQLAddress    = "127.0.0.1:3307"
	defaultAdminAddress    = "127.0.0.1:9090"
)

func (l *Listeners) ensureDefaults() {
	if l.Postgres != nil {
		l.Postgres.ensureDefaults(defaultPostgresAddress)
	}
	if l.MySQL != nil {
		l.MySQL.ensureDefaults(defaultMySQLAddress)
	}
	if l.Admin != nil && l.Admin.Address == "" {
		l.Admin.Address = defaultAdminAddress
	}
}

func (l *Listener) ensureDefaults(addr string) {
	if l.Address == "" {
		l.Address = addr
	}
	if l.TLS.Mode == "" {
		l.TLS.Mode = ServerTLSOff
	}
}

func (l *Listeners) validate(p *problems) {
	if l.Postgres == nil && l.MySQL == nil {
		p.add("listeners", "enable at least one of postgres, mysql")
	}
	type bound struct {
		path string
		host string
		port int
	}
	var bounds []bound
	check := func(path, addr string) {
		host, port, ok := checkAddress(p, path+".address", addr)
		if !ok || port == 0 {
			return
		}
		for _, b := range bounds {
			if b.port == port && (b.host == host || unspecified(b.host) || unspecified(host)) {
				p.add(path+".address", "%s conflicts with %s.address", addr, b.path)
			}
		}
		bounds = append(bounds, bound{path, host, port})
	}
	if l.Postgres != nil {
		check("listeners.postgres", l.Postgres.Address)
		l.Postgres.TLS.validate(p, "listeners.postgres.tls")
	}
	if l.MySQL != nil {
		check("listeners.mysql", l.MySQL.Address)
		l.MySQL.TLS.validate(p, "listeners.mysql.tls")
	}
	if a := l.Admin; a != nil {
		check("listeners.admin", a.Address)
		if host, _, err := net.SplitHostPort(a.Address); err == nil && !a.AllowRemote && !loopback(host) {
			p.add("listeners.admin.address", "%s is not a loopback address; the admin endpoint has no authentication, so set allow_remote: true to expose it", a.Address)
		}
	}
}

func (t ServerTLS) validate(p *problems, path string) {
	oneOf(p, path+".mode", t.Mode, ServerTLSOff, ServerTLSPrefer, ServerTLSRequire)
	if t.Mode == ServerTLSPrefer || t.Mode == ServerTLSRequire {
		if t.CertFile == "" {
			p.add(path+".cert_file", "missing: mode %s needs a certificate", t.Mode)
		}
		if t.KeyFile == "" {
			p.add(path+".key_file", "missing: mode %s needs a private key", t.Mode)
		}
	} else if t.CertFile != "" || t.KeyFile != "" {
		p.add(path+".mode", "is off, but cert_file or key_file is set; set mode to prefer or require, or remove them")
	}
}

// checkAddress checks host:port syntax; a host name is accepted as is (it is
// resolved when the listener starts).
func checkAddress(p *problems, path, addr string) (host string, port int, ok bool) {
	host, portText, err := net.SplitHostPort(addr)
	if err != nil {
		p.add(path, "want host:port, got %q", addr)
		return "", 0, false
	}
	port, err = strconv.Atoi(portText)
	if err != nil || port < 0 || port > 65535 {
		p.add(path, "port %q: want 0-65535", portText)
		return "", 0, false
	}
	return host, port, true
}

func unspecified(host string) bool {
	if host == "" {
		return true
	}
	a, err := netip.ParseAddr(host)
	return err == nil && a.IsUnspecified()
}

func loopback(host string) bool {
	if host == "localhost" {
		return true
	}
	a, err := netip.ParseAddr(host)
	return err == nil && a.IsLoopback()
}
