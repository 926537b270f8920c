package auth

import (
	"crypto/rand"
	"crypto/sha256"
)

// MockKey is a per-process secret from which fake SCRAM verifiers for unknown
// users are derived, so that an unknown user goes through a full exchange
// that fails only at the proof, exactly like a wrong password: the server
// must not reveal which user names exist (Postgres does the same with its
// mock authentication nonce).
//
// The derivation is deterministic, so the same unknown name sees the same
// salt on every attempt during the process's life, as a real user would. The
// owner (a front end) makes one key at start-up and keeps it; there is no
// package-level key.
type MockKey [32]byte

// NewMockKey returns a random key.
func NewMockKey() MockKey {
	var k MockKey
	rand.Read(k[:]) // never fails (crypto/rand since Go 1.24)
	return k
}

// SCRAMVerifier returns the fake verifier for user: salt, StoredKey and
// ServerKey are HMAC-SHA-256 values keyed by k, so they look random and
// stable, and no proof can pass (it would need a preimage of StoredKey).
func (k MockKey) SCRAMVerifier(user string) SCRAMVerifier {
	v := SCRAMVerifier{Iterations: SCRAMIterations}
	v.Salt = hmacSHA256(k[:], "salt\x00"+user)[:SCRAMSaltLen]
	v.StoredKey = sha256.Sum256(hmacSHA256(k[:], "stored\x00"+user))
	copy(v.ServerKey[:], hmacSHA256(k[:], "server\x00"+user))
	return v
}
