package config

import (
	"fmt"
	"strings"

	"github.com/shardgate/shardgate/auth"
)

// User is a client user of the proxy, given by password verifiers only:
// the proxy never holds a client's plain password. Each verifier is
// optional, but a user needs at least one, and can log in only through the
// protocols its verifiers serve: scram_sha_256 for Postgres,
// mysql_native_password and/or caching_sha2_password for MySQL.
// auth.NewVerifiers makes all three from a password.
type User struct {
	Name string `yaml:"name"`
	// SCRAMSHA256 is Postgres' form, as in pg_authid.rolpassword:
	// SCRAM-SHA-256$<iterations>:<salt>$<StoredKey>:<ServerKey>.
	SCRAMSHA256 string `yaml:"scram_sha_256,omitempty"`
	// MySQLNativePassword is "*" + 40 hex digits, as PASSWORD() returns.
	MySQLNativePassword string `yaml:"mysql_native_password,omitempty"`
	// CachingSHA2Password is MySQL 8's authentication_string ("$A$005$…"),
	// or "0x" + its hex when its salt holds control characters.
	CachingSHA2Password string `yaml:"caching_sha2_password,omitempty"`
}

// Verifiers returns the user's verifiers in auth's form.
func (u User) Verifiers() auth.Verifiers {
	return auth.Verifiers{
		SCRAMSHA256: u.SCRAMSHA256,
		MySQLNative: u.MySQLNativePassword,
		CachingSHA2: u.CachingSHA2Password,
	}
}

// UserFromVerifiers is the inverse of User.Verifiers.
func UserFromVerifiers(name string, v auth.Verifiers) User {
	return User{Name: name, SCRAMSHA256: v.SCRAMSHA256, MySQLNativePassword: v.MySQLNative, CachingSHA2Password: v.CachingSHA2}
}

// refusedKey turns a plain password into a specific error instead of
// "unknown key".
func (User) refusedKey(key string) (string, bool) {
	if key == "password" {
		return "plain passwords are not allowed for users: give the user's verifiers instead " +
			"(scram_sha_256, mysql_native_password, caching_sha2_password, as auth.NewVerifiers makes them, " +
			"or copied from pg_authid / mysql.user)", true
	}
	return "", false
}

func validateUsers(p *problems, users []User, needed bool) {
	if len(users) == 0 && needed {
		p.add("users", "at least one user is needed: clients log in as one of them")
	}
	seen := map[string]int{}
	for i, u := range users {
		path := fmt.Sprintf("users[%d]", i)
		switch {
		case u.Name == "":
			p.add(path+".name", "missing")
		case strings.ContainsFunc(u.Name, func(r rune) bool { return r < ' ' || r == 0x7f }):
			p.add(path+".name", "contains a control character")
		default:
			if j, dup := seen[u.Name]; dup {
				p.add(path+".name", "user %q is already defined at users[%d]", u.Name, j)
			} else {
				seen[u.Name] = i
			}
		}
		if u.SCRAMSHA256 == "" && u.MySQLNativePassword == "" && u.CachingSHA2Password == "" {
			p.add(path, "needs at least one verifier: scram_sha_256, mysql_native_password or caching_sha2_password")
		}
		if u.SCRAMSHA256 != "" {
			if _, err := auth.ParseSCRAMVerifier(u.SCRAMSHA256); err != nil {
				p.addErr(path+".scram_sha_256", err)
			}
		}
		if u.MySQLNativePassword != "" {
			if _, err := auth.ParseMySQLNativeVerifier(u.MySQLNativePassword); err != nil {
				p.addErr(path+".mysql_native_password", err)
			}
		}
		if u.CachingSHA2Password != "" {
			if _, err := auth.ParseCachingSHA2Verifier(u.CachingSHA2Password); err != nil {
				p.addErr(path+".caching_sha2_password", err)
			}
		}
	}
}
