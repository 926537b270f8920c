// Package auth owns password verifiers: generating, parsing and checking the
// hashed forms of a password that the proxy keeps instead of the password
// itself, so that neither the config file nor memory holds a client's plain
// password.
//
// Three verifier formats are supported, each in its server's own text form so
// a value can be copied from the server's catalog into the config and back:
//
//   - SCRAM-SHA-256 (RFC 5802, RFC 7677) as in Postgres' pg_authid:
//     SCRAM-SHA-256$<iterations>:<salt>$<StoredKey>:<ServerKey>.
//   - mysql_native_password as in MariaDB's PASSWORD(): "*" followed by the
//     upper-case hex of SHA1(SHA1(password)).
//   - caching_sha2_password as in MySQL 8's mysql.user.authentication_string:
//     "$A$" <rounds/1000 as 3 hex digits> "$" <20-byte salt> <43-char
//     SHA-256-crypt hash>.
//
// Besides parsing and formatting, the package checks what a client sends
// during a handshake (a SCRAM ClientProof, a mysql_native_password scramble
// response, a caching_sha2_password fast-auth scramble or full-auth
// plaintext), always in constant time. The handshakes themselves (message
// framing, nonces, state) belong to the front ends.
//
// auth is pure: no networking, no files, no clocks, no package-level mutable
// state; randomness comes from crypto/rand only where a new salt or key is
// made. It must never import other shardgate packages (internal/sqlerr at
// most) nor any networking package.
package auth
