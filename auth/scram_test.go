package auth

import (
	"bytes"
	"crypto/hmac"
	"crypto/pbkdf2"
	"crypto/sha256"
	"encoding/base64"
	"strings"
	"testing"
)

// RFC 7677 §3 example exchange.
const (
	rfcSalt            = "W22ZaJ0SNY7soEsUEjb6gQ=="
	rfcClientFirstBare = "n=user,r=rOprNGfwEbeRWgbNEkqO"
	rfcServerFirst     = "r=rOprNGfwEbeRWgbNEkqO%hvYDpWUa2RaTCAfuxFIlj)hNlF$k0,s=W22ZaJ0SNY7soEsUEjb6gQ==,i=4096"
	rfcClientFinalBare = "c=biws,r=rOprNGfwEbeRWgbNEkqO%hvYDpWUa2RaTCAfuxFIlj)hNlF$k0"
	rfcClientProof     = "dHzbZapWIk4jUhN+Ute9ytag9zjfMHgsqmmiz7AndVQ="
	rfcServerSignature = "6rriTRBi23WpRR/wtup+mMhUZUn/dB5nLTJRsjl95G4="
	// StoredKey and ServerKey of "pencil" with rfcSalt, 4096 iterations
	// (computed independently with Python's hashlib).
	rfcVerifier = "SCRAM-SHA-256$4096:W22ZaJ0SNY7soEsUEjb6gQ==$WG5d8oPm3OtcPnkdi4Uo7BkeZkBFzpcXkuLmtbsT4qY=:wfPLwcE6nTWhTAmQ7tl2KeoiWGPlZqQxSrmfPwDl2dU="
)

func b64(t *testing.T, s string) []byte {
	t.Helper()
	b, err := base64.StdEncoding.DecodeString(s)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func rfcAuthMessage() []byte {
	return []byte(rfcClientFirstBare + "," + rfcServerFirst + "," + rfcClientFinalBare)
}

func TestSCRAMRFC7677Verifier(t *testing.T) {
	v, err := NewSCRAMVerifier("pencil", b64(t, rfcSalt), 4096)
	if err != nil {
		t.Fatal(err)
	}
	if got := v.String(); got != rfcVerifier {
		t.Fatalf("verifier\n got %s\nwant %s", got, rfcVerifier)
	}
	p, err := ParseSCRAMVerifier(rfcVerifier)
	if err != nil {
		t.Fatal(err)
	}
	if p.String() != rfcVerifier || p.Iterations != 4096 || !bytes.Equal(p.Salt, b64(t, rfcSalt)) {
		t.Fatalf("parse round trip: %+v", p)
	}
}

func TestSCRAMRFC7677Exchange(t *testing.T) {
	v, err := ParseSCRAMVerifier(rfcVerifier)
	if err != nil {
		t.Fatal(err)
	}
	am := rfcAuthMessage()
	if !v.VerifyClientProof(am, b64(t, rfcClientProof)) {
		t.Fatal("RFC 7677 client proof rejected")
	}
	if got := base64.StdEncoding.EncodeToString(v.ServerSignature(am)); got != rfcServerSignature {
		t.Fatalf("server signature %s, want %s", got, rfcServerSignature)
	}
	bad := b64(t, rfcClientProof)
	bad[0] ^= 1
	if v.VerifyClientProof(am, bad) {
		t.Fatal("altered proof accepted")
	}
	if v.VerifyClientProof(append(am, 'x'), b64(t, rfcClientProof)) {
		t.Fatal("proof accepted for another auth message")
	}
	if v.VerifyClientProof(am, b64(t, rfcClientProof)[:31]) {
		t.Fatal("short proof accepted")
	}
}

// clientProof is the client side of RFC 5802 §3, written out independently
// of the verifier code.
func clientProof(password string, salt []byte, iter int, authMessage []byte) (proof, serverSig []byte) {
	salted, _ := pbkdf2.Key(sha256.New, password, salt, iter, 32)
	mac := func(key []byte, msg []byte) []byte {
		m := hmac.New(sha256.New, key)
		m.Write(msg)
		return m.Sum(nil)
	}
	clientKey := mac(salted, []byte("Client Key"))
	storedKey := sha256.Sum256(clientKey)
	sig := mac(storedKey[:], authMessage)
	proof = make([]byte, len(clientKey))
	for i := range clientKey {
		proof[i] = clientKey[i] ^ sig[i]
	}
	return proof, mac(mac(salted, []byte("Server Key")), authMessage)
}

func TestSCRAMFullClientComputation(t *testing.T) {
	vs, err := NewVerifiers("correct horse battery staple")
	if err != nil {
		t.Fatal(err)
	}
	v, err := ParseSCRAMVerifier(vs.SCRAMSHA256)
	if err != nil {
		t.Fatal(err)
	}
	if v.Iterations != SCRAMIterations || len(v.Salt) != SCRAMSaltLen {
		t.Fatalf("defaults: %d iterations, %d-byte salt", v.Iterations, len(v.Salt))
	}
	saltB64 := base64.StdEncoding.EncodeToString(v.Salt)
	am := []byte("n=app,r=abc," + "r=abcdef,s=" + saltB64 + ",i=4096," + "c=biws,r=abcdef")
	proof, serverSig := clientProof("correct horse battery staple", v.Salt, v.Iterations, am)
	if !v.VerifyClientProof(am, proof) {
		t.Fatal("client proof rejected")
	}
	if !hmac.Equal(v.ServerSignature(am), serverSig) {
		t.Fatal("server signature differs from the client's expectation")
	}
	wrong, _ := clientProof("Correct horse battery staple", v.Salt, v.Iterations, am)
	if v.VerifyClientProof(am, wrong) {
		t.Fatal("wrong password accepted")
	}
}

func TestSCRAMSalt(t *testing.T) {
	a, _ := NewVerifiers("pw")
	b, _ := NewVerifiers("pw")
	if a.SCRAMSHA256 == b.SCRAMSHA256 {
		t.Fatal("two verifiers of one password share a salt")
	}
}

func TestParseSCRAMVerifierErrors(t *testing.T) {
	key := base64.StdEncoding.EncodeToString(make([]byte, 32))
	short := base64.StdEncoding.EncodeToString(make([]byte, 31))
	for _, tc := range []struct{ in, want string }{
		{"", "not a SCRAM-SHA-256 verifier"},
		{"md5abcdef", "not a SCRAM-SHA-256 verifier"},
		{"SCRAM-SHA-1$4096:c2FsdA==$" + key + ":" + key, "not a SCRAM-SHA-256 verifier"},
		{"SCRAM-SHA-256$4096c2FsdA==$" + key + ":" + key, "missing ':' between iterations and salt"},
		{"SCRAM-SHA-256$4096:c2FsdA==$" + key + key, "missing ':' between StoredKey and ServerKey"},
		{"SCRAM-SHA-256$x:c2FsdA==$" + key + ":" + key, "iterations"},
		{"SCRAM-SHA-256$0:c2FsdA==$" + key + ":" + key, "iterations"},
		{"SCRAM-SHA-256$4096:!!$" + key + ":" + key, "salt"},
		{"SCRAM-SHA-256$4096:$" + key + ":" + key, "salt"},
		{"SCRAM-SHA-256$4096:c2FsdA==$" + short + ":" + key, "StoredKey: 31 bytes, want 32"},
		{"SCRAM-SHA-256$4096:c2FsdA==$" + key + ":%%", "ServerKey"},
		{"SCRAM-SHA-256$4096:c2FsdA==$" + key + ":" + key + "$", "not a SCRAM-SHA-256 verifier"},
	} {
		_, err := ParseSCRAMVerifier(tc.in)
		if err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("ParseSCRAMVerifier(%q) = %v, want error containing %q", tc.in, err, tc.want)
		}
	}
}

func TestNewSCRAMVerifierErrors(t *testing.T) {
	if _, err := NewSCRAMVerifier("pw", nil, 4096); err == nil {
		t.Error("empty salt accepted")
	}
	if _, err := NewSCRAMVerifier("pw", []byte("salt"), 0); err == nil {
		t.Error("zero iterations accepted")
	}
}

func TestMockSCRAMVerifier(t *testing.T) {
	k1, k2 := NewMockKey(), NewMockKey()
	a, b := k1.SCRAMVerifier("ghost"), k1.SCRAMVerifier("ghost")
	if a.String() != b.String() {
		t.Fatal("mock verifier not deterministic per key and user")
	}
	if a.String() == k1.SCRAMVerifier("ghost2").String() {
		t.Fatal("two users share a mock verifier")
	}
	if a.String() == k2.SCRAMVerifier("ghost").String() {
		t.Fatal("two keys give the same mock verifier")
	}
	if _, err := ParseSCRAMVerifier(a.String()); err != nil {
		t.Fatalf("mock verifier does not parse: %v", err)
	}
	if a.Iterations != SCRAMIterations || len(a.Salt) != SCRAMSaltLen {
		t.Fatal("mock verifier does not look like a default one")
	}
	am := []byte("n=ghost,r=x,r=xy,s=" + base64.StdEncoding.EncodeToString(a.Salt) + ",i=4096,c=biws,r=xy")
	for _, pw := range []string{"", "ghost", "password"} {
		proof, _ := clientProof(pw, a.Salt, a.Iterations, am)
		if a.VerifyClientProof(am, proof) {
			t.Fatalf("mock verifier accepted %q", pw)
		}
	}
}
