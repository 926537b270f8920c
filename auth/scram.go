package auth

import (
	"crypto/hmac"
	"crypto/pbkdf2"
	"crypto/rand"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/base64"
	"errors"
	"fmt"
	"strconv"
	"strings"
)

const (
	// SCRAMIterations is the PBKDF2 iteration count of new SCRAM-SHA-256
	// verifiers; Postgres' default (scram_iterations).
	SCRAMIterations = 4096
	// SCRAMSaltLen is the salt length of new SCRAM-SHA-256 verifiers, in
	// bytes; Postgres' SCRAM_DEFAULT_SALT_LEN.
	SCRAMSaltLen = 16

	scramPrefix = "SCRAM-SHA-256"
	scramKeyLen = sha256.Size
	// scramMaxIterations bounds the work a verifier can make the proxy do;
	// Postgres accepts up to INT_MAX, no real verifier comes near this.
	scramMaxIterations = 1 << 24
)

// SCRAMVerifier is a parsed SCRAM-SHA-256 verifier: what the server side of a
// SCRAM exchange needs, and nothing from which the password can be recovered
// without brute force.
type SCRAMVerifier struct {
	Iterations int
	Salt       []byte
	StoredKey  [scramKeyLen]byte // H(ClientKey)
	ServerKey  [scramKeyLen]byte // HMAC(SaltedPassword, "Server Key")
}

// NewSCRAMVerifier derives a verifier from a password. The password is
// prepared with SASLprep first, as Postgres and libpq do.
func NewSCRAMVerifier(password string, salt []byte, iterations int) (SCRAMVerifier, error) {
	if len(salt) == 0 {
		return SCRAMVerifier{}, errors.New("scram: empty salt")
	}
	if iterations < 1 || iterations > scramMaxIterations {
		return SCRAMVerifier{}, fmt.Errorf("scram: iterations %d out of range 1..%d", iterations, scramMaxIterations)
	}
	salted, err := pbkdf2.Key(sha256.New, saslPrep(password), salt, iterations, scramKeyLen)
	if err != nil {
		return SCRAMVerifier{}, fmt.Errorf("scram: %w", err)
	}
	v := SCRAMVerifier{Iterations: iterations, Salt: append([]byte(nil), salt...)}
	v.StoredKey = sha256.Sum256(hmacSHA256(salted, "Client Key"))
	copy(v.ServerKey[:], hmacSHA256(salted, "Server Key"))
	return v, nil
}

// newRandomSCRAMVerifier makes a verifier with a fresh random salt and the
// default iteration count.
func newRandomSCRAMVerifier(password string) (SCRAMVerifier, error) {
	salt := make([]byte, SCRAMSaltLen)
	rand.Read(salt) // never fails (crypto/rand since Go 1.24)
	return NewSCRAMVerifier(password, salt, SCRAMIterations)
}

// ParseSCRAMVerifier parses Postgres' text form,
// SCRAM-SHA-256$<iterations>:<salt b64>$<StoredKey b64>:<ServerKey b64>.
func ParseSCRAMVerifier(s string) (SCRAMVerifier, error) {
	const want = "want SCRAM-SHA-256$<iterations>:<salt>$<StoredKey>:<ServerKey>"
	parts := strings.Split(s, "$")
	if len(parts) != 3 || parts[0] != scramPrefix {
		return SCRAMVerifier{}, fmt.Errorf("not a SCRAM-SHA-256 verifier (%s)", want)
	}
	iterText, saltText, ok := strings.Cut(parts[1], ":")
	if !ok {
		return SCRAMVerifier{}, fmt.Errorf("SCRAM-SHA-256 verifier: missing ':' between iterations and salt (%s)", want)
	}
	storedText, serverText, ok := strings.Cut(parts[2], ":")
	if !ok {
		return SCRAMVerifier{}, fmt.Errorf("SCRAM-SHA-256 verifier: missing ':' between StoredKey and ServerKey (%s)", want)
	}
	var v SCRAMVerifier
	n, err := strconv.Atoi(iterText)
	if err != nil || n < 1 || n > scramMaxIterations {
		return SCRAMVerifier{}, fmt.Errorf("SCRAM-SHA-256 verifier: iterations %q: want an integer in 1..%d", iterText, scramMaxIterations)
	}
	v.Iterations = n
	if v.Salt, err = base64.StdEncoding.DecodeString(saltText); err != nil || len(v.Salt) == 0 {
		return SCRAMVerifier{}, fmt.Errorf("SCRAM-SHA-256 verifier: salt %q is not non-empty base64", saltText)
	}
	if err := decodeKey(storedText, v.StoredKey[:]); err != nil {
		return SCRAMVerifier{}, fmt.Errorf("SCRAM-SHA-256 verifier: StoredKey: %w", err)
	}
	if err := decodeKey(serverText, v.ServerKey[:]); err != nil {
		return SCRAMVerifier{}, fmt.Errorf("SCRAM-SHA-256 verifier: ServerKey: %w", err)
	}
	return v, nil
}

func decodeKey(text string, dst []byte) error {
	b, err := base64.StdEncoding.DecodeString(text)
	if err != nil {
		return fmt.Errorf("%q is not base64", text)
	}
	if len(b) != len(dst) {
		return fmt.Errorf("%d bytes, want %d", len(b), len(dst))
	}
	copy(dst, b)
	return nil
}

// String returns Postgres' text form of the verifier.
func (v SCRAMVerifier) String() string {
	enc := base64.StdEncoding
	return fmt.Sprintf("%s$%d:%s$%s:%s", scramPrefix, v.Iterations,
		enc.EncodeToString(v.Salt), enc.EncodeToString(v.StoredKey[:]), enc.EncodeToString(v.ServerKey[:]))
}

// VerifyClientProof reports whether proof (the decoded p= attribute of the
// client-final-message) proves knowledge of the password. authMessage is
// client-first-message-bare + "," + server-first-message + "," +
// client-final-message-without-proof (RFC 5802 §3).
//
// ClientKey = proof XOR HMAC(StoredKey, authMessage); the proof holds when
// H(ClientKey) == StoredKey, compared in constant time.
func (v SCRAMVerifier) VerifyClientProof(authMessage, proof []byte) bool {
	if len(proof) != scramKeyLen {
		return false
	}
	sig := hmacSHA256(v.StoredKey[:], string(authMessage))
	var clientKey [scramKeyLen]byte
	subtle.XORBytes(clientKey[:], proof, sig)
	stored := sha256.Sum256(clientKey[:])
	return subtle.ConstantTimeCompare(stored[:], v.StoredKey[:]) == 1
}

// ServerSignature returns HMAC(ServerKey, authMessage), which the server
// sends base64-encoded as v= in the server-final-message to prove it knows
// the verifier.
func (v SCRAMVerifier) ServerSignature(authMessage []byte) []byte {
	return hmacSHA256(v.ServerKey[:], string(authMessage))
}

func hmacSHA256(key []byte, msg string) []byte {
	m := hmac.New(sha256.New, key)
	m.Write([]byte(msg))
	return m.Sum(nil)
}
