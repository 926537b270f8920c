package mysqlwire

import (
	"net"
	"strconv"
	"sync"

	vmysql "vitess.io/vitess/go/mysql"
	"vitess.io/vitess/go/mysql/collations"
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
		method{vmysql.NewMysqlNativeAuthMethod(nativeStorage{a}, nativeUsers{a}), a},
		method{vmysql.NewSha2CachingAuthMethod(sha2Cache{a}, sha2Full{a}, sha2Users{a}), a},
	}
	return a
}

// method is one of vitess's auth methods with the proxy's checks around
// it. The client's TLS is the proxy's own (tlsconn.go), which vitess does
// not see: the method tells vitess (the capability bit it reads) before
// vitess's caching_sha2_password asks. A user with only a
// caching_sha2_password verifier may try mysql_native_password in clear
// text, to be told that its method needs TLS (clients otherwise get no
// method at all and say so in their own words). Once a login is good, a
// client character set the proxy cannot speak is refused (charset.go).
type method struct {
	vmysql.AuthMethod
	a *authServer
}

func (m method) HandleUser(c *vmysql.Conn, user string) bool {
	secure := markTLS(c)
	if m.Name() == vmysql.MysqlNativePassword && !secure {
		return true // unknown users, native ones and sha2-only ones (told why)
	}
	return m.AuthMethod.HandleUser(c, user)
}

func (m method) HandleAuthPluginData(c *vmysql.Conn, user string, serverData, clientData []byte, addr net.Addr) (vmysql.Getter, error) {
	markTLS(c)
	g, err := m.AuthMethod.HandleAuthPluginData(c, user, serverData, clientData, addr)
	if err != nil {
		return nil, err
	}
	if err := clientCharset(c); err != nil {
		return nil, err
	}
	return g, nil
}

// markTLS reports whether the client talks over TLS, and if so sets the
// capability bit vitess's TLSEnabled reads.
func markTLS(c *vmysql.Conn) bool {
	if cc, ok := c.GetRawConn().(*sniffConn); ok && cc.tls != nil {
		c.Capabilities |= vmysql.CapabilityClientSSL
		return true
	}
	return c.TLSEnabled()
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

func (s nativeStorage) UserEntryWithHash(c *vmysql.Conn, salt []byte, user string, resp []byte, _ net.Addr) (vmysql.Getter, error) {
	u, ok := s.a.users(user)
	if ok && u.Native == nil && u.CachingSHA2 != nil && !c.TLSEnabled() {
		return nil, sqlerror.NewSQLErrorf(sqlerror.ERAccessDeniedError, sqlerror.SSAccessDeniedError,
			"Access denied for user '%s': it logs in with caching_sha2_password, which shardgate accepts over TLS only; connect with TLS (SSL)", user)
	}
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

// utf8Collations are the handshake collation ids whose character set is
// utf8mb4 or a subset of it (MariaDB 10.11's ids below 256: ascii,
// utf8mb3, utf8mb4; 255 is MySQL 8's utf8mb4_0900_ai_ci; 0 asks for the
// server's default, utf8mb4 here). The proxy reads texts and routes text
// keys as utf8mb4 and its server connections speak utf8mb4, so a client
// in another character set (latin1, …) would have its bytes misread: it is
// refused at login, as SET NAMES of another set is (settings.go).
func utf8Collation(id uint8) bool {
	switch {
	case id == 0, id == 11, id == 65, // ascii
		id == 33, id == 83, 192 <= id && id <= 215, id == 223, // utf8mb3
		id == 45, id == 46, 224 <= id && id <= 247, id == 255: // utf8mb4
		return true
	}
	return false
}

// clientCharset refuses a login whose handshake asked for a character set
// the proxy does not speak.
func clientCharset(c *vmysql.Conn) error {
	id := c.CharacterSet
	if id <= 0xff && utf8Collation(uint8(id)) {
		return nil
	}
	name := collations.MySQL8().LookupCharsetName(id)
	if name == "" {
		name = "collation " + strconv.Itoa(int(id))
	}
	return sqlerror.NewSQLErrorf(sqlerror.ERNotSupportedYet, "42000",
		"shardgate speaks utf8mb4 to its servers: the client character set %s is not supported; connect with utf8mb4 (mariadb --default-character-set=utf8mb4, go-sql-driver charset=utf8mb4)", name)
}
