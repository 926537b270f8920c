package config

import (
	"fmt"
	"regexp"
	"strings"

	"github.com/shardgate/shardgate/shardmap"
)

// keyPath matches a leading YAML key path such as keyspaces[0].shards[1].key_range.
var keyPath = regexp.MustCompile(`^[a-z_][a-z0-9_]*(\[[0-9]+\])*(\.[a-z_][a-z0-9_]*(\[[0-9]+\])*)*$`)

// validateTopology runs shardmap's validation and files each problem under
// "topology." + its path. shardmap writes "path: message" errors; the path is
// read off the text only to place the message and find its line, never to
// decide anything.
func validateTopology(p *problems, m *shardmap.MapSpec, backends Backends) {
	for _, e := range flatten(m.Validate()) {
		head, rest, ok := strings.Cut(e.Error(), ": ")
		if ok && keyPath.MatchString(head) {
			p.errs = append(p.errs, &PathError{Path: "topology." + head, Err: e, msg: rest})
		} else {
			p.addErr("topology", e)
		}
	}
	for i, ks := range m.Keyspaces {
		path := fmt.Sprintf("topology.keyspaces[%d].engine", i)
		switch {
		case ks.Engine == shardmap.Postgres && backends.Postgres == nil:
			p.add(path, "a postgres keyspace needs backends.postgres")
		case ks.Engine == shardmap.MySQL && backends.MySQL == nil:
			p.add(path, "a mysql keyspace needs backends.mysql")
		}
		if ks.Engine == shardmap.Postgres && backends.Postgres != nil {
			checkUnixTLS(p, i, ks, backends.Postgres.TLS.Mode)
		}
	}
}

// checkUnixTLS refuses a node on a Unix socket when the TLS mode asks for
// TLS, which a Unix socket does not have (prefer means none there).
func checkUnixTLS(p *problems, i int, ks shardmap.KeyspaceSpec, mode BackendTLSMode) {
	if mode != BackendTLSRequire && mode != BackendTLSVerifyFull {
		return
	}
	for j, sh := range ks.Shards {
		for k, n := range append([]shardmap.NodeSpec{sh.Primary}, sh.Replicas...) {
			if !shardmap.SocketFolder(n.Host) {
				continue
			}
			path := fmt.Sprintf("topology.keyspaces[%d].shards[%d].primary.host", i, j)
			if k > 0 {
				path = fmt.Sprintf("topology.keyspaces[%d].shards[%d].replicas[%d].host", i, j, k-1)
			}
			p.add(path, "a Unix socket has no TLS, and backends.postgres.tls.mode is %s", mode)
		}
	}
}

// flatten lists the errors joined in err (nil for nil).
func flatten(err error) []error {
	if err == nil {
		return nil
	}
	if j, ok := err.(interface{ Unwrap() []error }); ok {
		var out []error
		for _, e := range j.Unwrap() {
			out = append(out, flatten(e)...)
		}
		return out
	}
	return []error{err}
}
