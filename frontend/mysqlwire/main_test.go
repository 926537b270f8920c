package mysqlwire

import (
	"context"
	"crypto/tls"
	"fmt"
	"net"
	"regexp"
	"testing"
	"time"

	"github.com/shardgate/shardgate/auth"
	mysqlbackend "github.com/shardgate/shardgate/backend/mysql"
	"github.com/shardgate/shardgate/internal/selfsign"
	"github.com/shardgate/shardgate/parser"
	"github.com/shardgate/shardgate/sandbox"
	"github.com/shardgate/shardgate/shardmap"
)

// The wire tests run one endpoint over one real MariaDB shard, with a
// keyspace of no sharded table (every statement may run anywhere) and a
// pool of ONE server connection, so that every client shares it: what one
// session leaves on it must never reach another. Routing by key is tested
// with the real analyzer in proxy/mysqltest.
var (
	addr   string // the endpoint, host:port
	node   *sandbox.Node
	server *Server
	pools  *mysqlbackend.Pools
)

func TestMain(m *testing.M) {
	sandbox.Main(m, func(ctx context.Context) (func() error, error) {
		c, err := sandbox.StartMariaDB(ctx, sandbox.Spec{})
		if err != nil {
			return nil, err
		}
		node = c.Shards[0].Primary
		if err := node.Exec(ctx, "CREATE TABLE app.t (id BIGINT PRIMARY KEY, v VARCHAR(50)) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4"); err != nil {
			c.Stop()
			return nil, err
		}
		stop, err := startServer()
		if err != nil {
			c.Stop()
			return nil, err
		}
		return func() error { stop(); return c.Stop() }, nil
	})
}

func startServer() (func(), error) {
	snap, err := shardmap.Compile(1, shardmap.MapSpec{Keyspaces: []shardmap.KeyspaceSpec{{
		Name: "app", Engine: shardmap.MySQL,
		Shards: []shardmap.ShardSpec{{KeyRange: "-", Primary: shardmap.NodeSpec{Name: "m0", Host: node.Host, Port: node.Port}}},
	}}})
	if err != nil {
		return nil, err
	}
	app, err := auth.NewVerifiers("app")
	if err != nil {
		return nil, err
	}
	native, _ := auth.ParseMySQLNativeVerifier(app.MySQLNative)
	sha2, _ := auth.ParseCachingSHA2Verifier(app.CachingSHA2)
	users := map[string]User{
		"app":      {Native: &native, CachingSHA2: &sha2},
		"sha2only": {CachingSHA2: &sha2},
	}
	certPEM, keyPEM, err := selfsign.Generate([]string{"127.0.0.1"}, time.Hour)
	if err != nil {
		return nil, err
	}
	cert, err := tls.X509KeyPair(certPEM, keyPEM)
	if err != nil {
		return nil, err
	}
	pools = mysqlbackend.NewPools(func(k mysqlbackend.PoolKey) mysqlbackend.PoolOptions {
		return mysqlbackend.PoolOptions{
			Dial:     mysqlbackend.DialOptions{Node: k.Node, Host: node.Host, Port: node.Port, User: "app", Password: "app", Database: k.Database, FoundRows: k.FoundRows},
			MaxConns: 1, AcquireTimeout: 10 * time.Second,
		}
	})
	server, err = NewServer(Options{
		Snapshot: func() *shardmap.Snapshot { return snap },
		Analyzer: keywordAnalyzer{},
		Conns:    poolSource{pools},
		Users:    func(name string) (User, bool) { u, ok := users[name]; return u, ok },
		TLS:      &tls.Config{Certificates: []tls.Certificate{cert}},
	})
	if err != nil {
		return nil, err
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return nil, err
	}
	addr = ln.Addr().String()
	done := make(chan error, 1)
	go func() { done <- server.Serve(ln) }()
	return func() {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		server.Shutdown(ctx)
		<-done
		pools.Close()
	}, nil
}

type poolSource struct{ ps *mysqlbackend.Pools }

func (s poolSource) Acquire(ctx context.Context, shard *shardmap.Shard, foundRows bool) (ServerConn, error) {
	p, err := s.ps.Get(mysqlbackend.PoolKey{Node: shard.Primary.Addr, User: "app", Database: shard.Database, FoundRows: foundRows})
	if err != nil {
		return nil, err
	}
	c, err := p.Acquire(ctx)
	if err != nil {
		return nil, err
	}
	return c, nil
}

func (s poolSource) Release(c ServerConn) {
	conn := c.(*mysqlbackend.Conn)
	conn.Pool().Release(conn)
}

// keywordAnalyzer knows a statement's kind by its first word and nothing
// else: enough for the wire layer, whose keyspace has no sharded table.
type keywordAnalyzer struct{}

var leadingWord = regexp.MustCompile(`^\s*([A-Za-z]+)`)

func (keywordAnalyzer) Analyze(sql string, lits []parser.Literal) (*parser.Statement, []parser.Literal, error) {
	m := leadingWord.FindStringSubmatch(sql)
	if m == nil {
		return &parser.Statement{Kind: parser.KindOther}, lits, nil
	}
	kinds := map[string]parser.Kind{
		"begin": parser.KindBegin, "start": parser.KindBegin, "commit": parser.KindCommit,
		"rollback": parser.KindRollback, "set": parser.KindSet, "select": parser.KindSelect,
	}
	k, ok := kinds[lower(m[1])]
	if !ok {
		k = parser.KindOther
	}
	return &parser.Statement{Kind: k}, lits, nil
}

func lower(s string) string {
	b := []byte(s)
	for i, c := range b {
		if 'A' <= c && c <= 'Z' {
			b[i] = c + 32
		}
	}
	return string(b)
}

func dsn(user, password, params string) string {
	return fmt.Sprintf("%s:%s@tcp(%s)/app?%s", user, password, addr, params)
}
