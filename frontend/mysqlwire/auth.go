package mysqlwire

import (
	"net"
	"sync"

	vmysql "vitess.io/vitess/go/mysql"
	"vitess.io/vitess/go/mysql/sqlerror"
	querypb "vitess.io/vitess/go/vt/proto/query"

	"github.com/shardgate/shardgate/auth"
)

// User is a client login: the verifiers the proxy holds instead of the
// password. A nil verifier means the user cannot use that method.
type User struct {
	Native      *auth.MySQLNativeVerifier
	CachingSHA2 *auth.CachingSHA2Verifier
}

// authServer is vitess's AuthServer over the proxy's users. It is ours, not
// vitess's static one, which reads a JSON file and installs its own SIGHUP
// handler.
type authServer struct {
	users   func(name string) (User, bool)
	methods []vmysql.AuthMethod

	// digests caches SHA256(SHA256(password)) per user after a full
	// caching_sha2_password login, for the fast path, as MySQL does. An
	// entry holds for as long as the user's verifier is unchanged.
	mu      sync.Mutex
	digests map[string]cachedDigest
}

type cachedDigest struct {
	verifier auth.CachingSHA2Verifier
	digest   auth.CachingSHA2Digest
}

func newAuthServer(users func(name string) (User, bool)) *authServer {
	a := &authServer{users: users, digests: map[string]cachedDigest{}}
	a.methods = []vmysql.AuthMethod{
		vmysql.NewMysqlNativeAuthMethod(nativeStorage{a}, nativeUsers{a}),
		vmysql.NewSha2CachingAuthMethod(sha2Cache{a}, sha2Full{a}, sha2Users{a}),
	}
	return a
}

// AuthMethods implements vmysql.AuthServer.
func (a *authServer) AuthMethods() []vmysql.AuthMethod { return a.methods }

// DefaultAuthMethodDescription implements vmysql.AuthServer:
// mysql_native_password is what MariaDB and its clients use; MySQL 8
// clients ask for caching_sha2_password and get it over TLS.
func (a *authServer) DefaultAuthMethodDescription() vmysql.AuthMethodDescription {
	return vmysql.MysqlNativePassword
}

func accessDenied(user string) error {
	return sqlerror.NewSQLErrorf(sqlerror.ERAccessDeniedError, sqlerror.SSAccessDeniedError,
		"Access denied for user '%s' (using password: YES)", user)
}

// callerID is what vitess keeps as the logged-in user's data.
type callerID string

func (u callerID) Get() *querypb.VTGateCallerID { return &querypb.VTGateCallerID{Username: string(u)} }

// nativeUsers lets every name try mysql_native_password but the users who
// have only a caching_sha2_password verifier (they are switched to that
// method): an unknown user then fails like a wrong password, and a client
// cannot tell which names exist.
type nativeUsers struct{ a *authServer }

func (v nativeUsers) HandleUser(user string) bool {
	u, ok := v.a.users(user)
	return !ok || u.Native != nil
}

type nativeStorage struct{ a *authServer }

func (s nativeStorage) UserEntryWithHash(_ *vmysql.Conn, salt []byte, user string, resp []byte, _ net.Addr) (vmysql.Getter, error) {
	u, ok := s.a.users(user)
	if !ok || u.Native == nil || !u.Native.VerifyScramble(salt, resp) {
		return nil, accessDenied(user)
	}
	return callerID(user), nil
}

// sha2Users: caching_sha2_password is offered to users that have its
// verifier (vitess adds: over TLS or a Unix socket only).
type sha2Users struct{ a *authServer }

func (s sha2Users) HandleUser(user string) bool {
	u, ok := s.a.users(user)
	return ok && u.CachingSHA2 != nil
}

// sha2Cache is the fast path: the scramble checked against the digest a
// previous full login of the same user left. Without one (or if it does not
// match: the password may have changed), full authentication follows.
type sha2Cache struct{ a *authServer }

func (s sha2Cache) UserEntryWithCacheHash(_ *vmysql.Conn, salt []byte, user string, resp []byte, _ net.Addr) (vmysql.Getter, vmysql.CacheState, error) {
	u, ok := s.a.users(user)
	if !ok || u.CachingSHA2 == nil {
		return nil, vmysql.AuthRejected, nil
	}
	s.a.mu.Lock()
	d, cached := s.a.digests[user]
	s.a.mu.Unlock()
	if cached && d.verifier == *u.CachingSHA2 && d.digest.VerifyScramble(salt, resp) {
		return callerID(user), vmysql.AuthAccepted, nil
	}
	return nil, vmysql.AuthNeedMoreData, nil
}

// sha2Full checks the plain password the client sends over TLS.
type sha2Full struct{ a *authServer }

func (s sha2Full) UserEntryWithPassword(_ *vmysql.Conn, user, password string, _ net.Addr) (vmysql.Getter, error) {
	u, ok := s.a.users(user)
	if !ok || u.CachingSHA2 == nil || !u.CachingSHA2.VerifyPassword(password) {
		return nil, accessDenied(user)
	}
	s.a.mu.Lock()
	s.a.digests[user] = cachedDigest{verifier: *u.CachingSHA2, digest: auth.NewCachingSHA2Digest(password)}
	s.a.mu.Unlock()
	return callerID(user), nil
}
