// Package selfsign makes self-signed TLS certificates for local use: the
// demo's listeners and tests. Such a certificate is its own root, so a
// client can verify it (sslmode=verify-full, sslrootcert=<cert file>).
//
// selfsign imports only the standard library.
package selfsign
