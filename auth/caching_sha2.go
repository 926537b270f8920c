package auth

import (
	"crypto/rand"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/hex"
	"fmt"
	"strconv"
	"strings"
)

const (
	// CachingSHA2Rounds is the SHA-256-crypt round count of new
	// caching_sha2_password verifiers; MySQL's default
	// (caching_sha2_password_digest_rounds).
	CachingSHA2Rounds = 5000
	// CachingSHA2SaltLen is the salt length MySQL uses, in bytes.
	CachingSHA2SaltLen = 20

	cachingSHA2Prefix     = "$A$"        // "A": the SHA-256 digest type
	cachingSHA2RoundsUnit = 1000         // rounds are stored divided by this…
	cachingSHA2MaxRounds  = 0xfff * 1000 // …as three hex digits
	cachingSHA2Len        = 3 + 3 + 1 + CachingSHA2SaltLen + shaCryptHashLen
	cachingSHA2Format     = `"$A$" + rounds/1000 as 3 hex digits + "$" + 20-byte salt + 43-character hash`
)

// CachingSHA2Verifier is a caching_sha2_password verifier as MySQL 8 stores it
// in mysql.user.authentication_string: SHA-256-crypt of the password with a
// 20-byte salt. It checks the plaintext a client sends during full
// authentication (over TLS or RSA); fast authentication needs a
// CachingSHA2Digest instead, which cannot be derived from this.
type CachingSHA2Verifier struct {
	// Rounds is a multiple of 1000 in 1000..4095000 (MySQL writes 5000).
	Rounds int
	// Salt bytes are 7-bit and never NUL or '$' (MySQL's own salts include
	// control characters; ours are printable).
	Salt [CachingSHA2SaltLen]byte
	// Hash is the SHA-256-crypt hash, in crypt's base64 alphabet.
	Hash [shaCryptHashLen]byte
}

// NewCachingSHA2Verifier hashes password with salt and rounds. The password's
// bytes are used as they are, as MySQL does.
func NewCachingSHA2Verifier(password string, salt [CachingSHA2SaltLen]byte, rounds int) (CachingSHA2Verifier, error) {
	if err := checkCachingSHA2Salt(salt[:]); err != nil {
		return CachingSHA2Verifier{}, err
	}
	if rounds < cachingSHA2RoundsUnit || rounds > cachingSHA2MaxRounds || rounds%cachingSHA2RoundsUnit != 0 {
		return CachingSHA2Verifier{}, fmt.Errorf("caching_sha2_password: rounds %d: want a multiple of 1000 in 1000..%d", rounds, cachingSHA2MaxRounds)
	}
	v := CachingSHA2Verifier{Rounds: rounds, Salt: salt}
	copy(v.Hash[:], sha256CryptHash([]byte(password), salt[:], rounds))
	return v, nil
}

// newRandomCachingSHA2Verifier uses a random salt drawn from crypt's
// alphabet, so the verifier is printable and needs no quoting in YAML.
func newRandomCachingSHA2Verifier(password string) (CachingSHA2Verifier, error) {
	var salt [CachingSHA2SaltLen]byte
	rand.Read(salt[:]) // never fails (crypto/rand since Go 1.24)
	for i, b := range salt {
		salt[i] = cryptAlphabet[b&0x3f]
	}
	return NewCachingSHA2Verifier(password, salt, CachingSHA2Rounds)
}

func checkCachingSHA2Salt(salt []byte) error {
	for i, b := range salt {
		if b == 0 || b == '$' || b >= 0x80 {
			return fmt.Errorf("caching_sha2_password: salt byte %d is %#02x; salt bytes are 7-bit and never NUL or '$'", i, b)
		}
	}
	return nil
}

// ParseCachingSHA2Verifier parses MySQL's authentication_string form. Because
// MySQL's salts may hold control characters, it also accepts the string
// hex-encoded with a "0x" prefix, as `SELECT CONCAT('0x',
// HEX(authentication_string)) FROM mysql.user` prints it.
func ParseCachingSHA2Verifier(s string) (CachingSHA2Verifier, error) {
	if h, ok := strings.CutPrefix(s, "0x"); ok {
		b, err := hex.DecodeString(h)
		if err != nil {
			return CachingSHA2Verifier{}, fmt.Errorf("caching_sha2_password hash: 0x form: %w", err)
		}
		s = string(b)
	}
	if !strings.HasPrefix(s, cachingSHA2Prefix) {
		return CachingSHA2Verifier{}, fmt.Errorf("not a caching_sha2_password hash (want %s)", cachingSHA2Format)
	}
	if len(s) != cachingSHA2Len || s[6] != '$' {
		return CachingSHA2Verifier{}, fmt.Errorf("caching_sha2_password hash: %d bytes, want %d: %s", len(s), cachingSHA2Len, cachingSHA2Format)
	}
	var v CachingSHA2Verifier
	n, err := strconv.ParseUint(s[3:6], 16, 16)
	if err != nil || n == 0 {
		return CachingSHA2Verifier{}, fmt.Errorf("caching_sha2_password hash: rounds %q: want 3 hex digits, 001..FFF (thousands of rounds)", s[3:6])
	}
	v.Rounds = int(n) * cachingSHA2RoundsUnit
	copy(v.Salt[:], s[7:7+CachingSHA2SaltLen])
	if err := checkCachingSHA2Salt(v.Salt[:]); err != nil {
		return CachingSHA2Verifier{}, err
	}
	hash := s[7+CachingSHA2SaltLen:]
	for _, c := range []byte(hash) {
		if strings.IndexByte(cryptAlphabet, c) < 0 {
			return CachingSHA2Verifier{}, fmt.Errorf("caching_sha2_password hash: character %q is not in crypt's base64 alphabet", c)
		}
	}
	copy(v.Hash[:], hash)
	return v, nil
}

// String returns MySQL's authentication_string form. It holds the salt's
// bytes as they are, control characters included.
func (v CachingSHA2Verifier) String() string {
	return fmt.Sprintf("%s%03X$%s%s", cachingSHA2Prefix, v.Rounds/cachingSHA2RoundsUnit, v.Salt[:], v.Hash[:])
}

// VerifyPassword reports whether password (sent in clear by the client during
// full authentication, over TLS or RSA) matches, in constant time. It costs
// Rounds SHA-256 rounds: a few milliseconds at 5000.
func (v CachingSHA2Verifier) VerifyPassword(password string) bool {
	got := sha256CryptHash([]byte(password), v.Salt[:], v.Rounds)
	return subtle.ConstantTimeCompare([]byte(got), v.Hash[:]) == 1
}

// CachingSHA2Digest is SHA256(SHA256(password)): what MySQL keeps in memory
// after a successful full authentication so later logins of the same user
// can take the fast path. It is never stored in the config; a front end
// computes it from the plaintext of a verified full authentication and keeps
// it for as long as the user's verifier is unchanged.
type CachingSHA2Digest [sha256.Size]byte

// NewCachingSHA2Digest computes the fast-path digest from a plaintext
// password (one that VerifyPassword has accepted).
func NewCachingSHA2Digest(password string) CachingSHA2Digest {
	stage1 := sha256.Sum256([]byte(password))
	return CachingSHA2Digest(sha256.Sum256(stage1[:]))
}

// VerifyScramble reports whether response is the client's fast-auth answer
// to nonce (the 20-byte handshake scramble). The client sends
// SHA256(pw) XOR SHA256(SHA256(SHA256(pw)) + nonce); the server recovers
// SHA256(pw) with the XOR and compares its SHA-256 with d in constant time.
func (d CachingSHA2Digest) VerifyScramble(nonce, response []byte) bool {
	if len(nonce) != MySQLScrambleLen || len(response) != sha256.Size {
		return false
	}
	h := sha256.New()
	h.Write(d[:])
	h.Write(nonce)
	mask := h.Sum(nil)
	var stage1 [sha256.Size]byte
	subtle.XORBytes(stage1[:], response, mask)
	stage2 := sha256.Sum256(stage1[:])
	return subtle.ConstantTimeCompare(stage2[:], d[:]) == 1
}
