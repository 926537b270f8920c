package shardmap

import (
	"errors"
	"fmt"
	"net"
	"path/filepath"
	"strings"
)

// Validate checks the whole map and reports every problem it finds, each
// prefixed with its key path ("keyspaces[0].shards[1].key_range: …"), joined
// with errors.Join. A map that validates compiles.
func (m MapSpec) Validate() error {
	_, err := compile(0, m)
	return err
}

// problems collects validation errors with their key paths.
type problems struct{ errs []error }

func (p *problems) add(path string, format string, args ...any) {
	p.errs = append(p.errs, fmt.Errorf("%s: %s", path, fmt.Sprintf(format, args...)))
}

func (p *problems) err() error { return errors.Join(p.errs...) }

func validName(s string) bool {
	if s == "" {
		return false
	}
	for _, c := range s {
		if !(c == '_' || c == '.' || c == '-' || c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9') {
			return false
		}
	}
	return true
}

// SocketFolder reports whether host names the folder of a Unix socket (an
// absolute path, libpq's rule) rather than a host name or address.
func SocketFolder(host string) bool { return strings.HasPrefix(host, "/") }

// checkNode checks one node. A Postgres node's host may be the absolute
// path of its Unix socket folder, as libpq's host may.
func checkNode(p *problems, path string, n NodeSpec, engine Engine, names map[string]string) {
	if !validName(n.Name) {
		p.add(path+".name", "want a name of letters, digits, '_', '-' or '.', got %q", n.Name)
	} else if prev, dup := names[n.Name]; dup {
		p.add(path+".name", "node %q is already defined at %s", n.Name, prev)
	} else {
		names[n.Name] = path
	}
	if n.Host == "" {
		p.add(path+".host", "missing")
	} else if engine == Postgres && SocketFolder(n.Host) {
		if filepath.Clean(n.Host) != n.Host {
			p.add(path+".host", "not a clean socket folder path (%q would be): %q", filepath.Clean(n.Host), n.Host)
		}
	} else if strings.ContainsAny(n.Host, " /") {
		p.add(path+".host", "not a host name or address, or (Postgres only) a Unix socket folder's absolute path: %q", n.Host)
	}
	if n.Port < 1 || n.Port > 65535 {
		p.add(path+".port", "want 1-65535, got %d", n.Port)
	}
	if n.Weight < 0 {
		p.add(path+".weight", "must not be negative")
	}
}

// Addr is the node's host:port.
func (n NodeSpec) Addr() string { return net.JoinHostPort(n.Host, fmt.Sprint(n.Port)) }
