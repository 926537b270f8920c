package auth

import (
	"crypto/sha1"
	"crypto/subtle"
	"encoding/hex"
	"errors"
	"fmt"
	"strings"
)

// MySQLScrambleLen is the length of the random salt ("scramble") a MySQL or
// MariaDB server sends in its handshake, without the trailing NUL.
const MySQLScrambleLen = 20

// MySQLNativeVerifier is a mysql_native_password verifier: SHA1(SHA1(password)).
type MySQLNativeVerifier [sha1.Size]byte

// NewMySQLNativeVerifier hashes password as MariaDB's PASSWORD() does. The
// password's bytes are used as they are (no normalisation), as the server and
// the clients do.
func NewMySQLNativeVerifier(password string) MySQLNativeVerifier {
	stage1 := sha1.Sum([]byte(password))
	return MySQLNativeVerifier(sha1.Sum(stage1[:]))
}

// ParseMySQLNativeVerifier parses "*" + 40 hex digits (either case; MySQL
// writes upper case).
func ParseMySQLNativeVerifier(s string) (MySQLNativeVerifier, error) {
	if !strings.HasPrefix(s, "*") || len(s) != 1+2*sha1.Size {
		return MySQLNativeVerifier{}, errors.New(`not a mysql_native_password hash (want "*" followed by 40 hex digits, as PASSWORD() returns)`)
	}
	var v MySQLNativeVerifier
	if _, err := hex.Decode(v[:], []byte(s[1:])); err != nil {
		return MySQLNativeVerifier{}, fmt.Errorf("mysql_native_password hash: %w", err)
	}
	return v, nil
}

// String returns the PASSWORD() form: "*" and upper-case hex.
func (v MySQLNativeVerifier) String() string {
	return "*" + strings.ToUpper(hex.EncodeToString(v[:]))
}

// VerifyScramble reports whether response is a client's answer to scramble
// for this verifier's password. The client sends
// SHA1(pw) XOR SHA1(scramble + SHA1(SHA1(pw))); the server recovers SHA1(pw)
// with the XOR and compares its SHA1 with the verifier in constant time.
// An empty response (the client's empty password) never matches.
func (v MySQLNativeVerifier) VerifyScramble(scramble, response []byte) bool {
	if len(scramble) != MySQLScrambleLen || len(response) != sha1.Size {
		return false
	}
	h := sha1.New()
	h.Write(scramble)
	h.Write(v[:])
	mask := h.Sum(nil)
	var stage1 [sha1.Size]byte
	subtle.XORBytes(stage1[:], response, mask)
	stage2 := sha1.Sum(stage1[:])
	return subtle.ConstantTimeCompare(stage2[:], v[:]) == 1
}
