package auth

import (
	"crypto/rand"
	"crypto/sha256"
	"encoding/hex"
	"strings"
	"testing"
)

// mysqlFoobar is `SELECT HEX(authentication_string)` of a user created with
// IDENTIFIED BY 'foobar' on a MySQL 8 server (the vector TiDB tests its
// caching_sha2_password implementation with). Its salt holds control
// characters, as MySQL's salts do.
const mysqlFoobar = "24412430303524031A69251C34295C4B35167C7F1E5A7B63091349503974624D34504B5A424679354856336868686F52485A736E4A733368786E427575516C73446469496537"

func TestCachingSHA2MySQLVector(t *testing.T) {
	raw, _ := hex.DecodeString(mysqlFoobar)
	for _, in := range []string{string(raw), "0x" + mysqlFoobar} {
		v, err := ParseCachingSHA2Verifier(in)
		if err != nil {
			t.Fatal(err)
		}
		if v.Rounds != 5000 {
			t.Fatalf("rounds %d", v.Rounds)
		}
		if v.String() != string(raw) {
			t.Fatalf("String() = %q, want %q", v.String(), raw)
		}
		if !v.VerifyPassword("foobar") {
			t.Fatal("MySQL's own hash of foobar rejected")
		}
		if v.VerifyPassword("not_foobar") || v.VerifyPassword("") {
			t.Fatal("wrong password accepted")
		}
		again, err := NewCachingSHA2Verifier("foobar", v.Salt, v.Rounds)
		if err != nil || again != v {
			t.Fatalf("recomputed %q, %v", again.String(), err)
		}
	}
}

func TestCachingSHA2RoundTrip(t *testing.T) {
	vs, err := NewVerifiers("pässwörd")
	if err != nil {
		t.Fatal(err)
	}
	s := vs.CachingSHA2
	if !strings.HasPrefix(s, "$A$005$") || len(s) != 70 {
		t.Fatalf("format: %q", s)
	}
	for _, c := range []byte(s[7:]) {
		if strings.IndexByte(cryptAlphabet, c) < 0 {
			t.Fatalf("generated verifier %q has a non-printable or special character", s)
		}
	}
	v, err := ParseCachingSHA2Verifier(s)
	if err != nil {
		t.Fatal(err)
	}
	if v.String() != s || !v.VerifyPassword("pässwörd") || v.VerifyPassword("passwörd") {
		t.Fatal("round trip failed")
	}
}

func TestCachingSHA2RoundsEncoding(t *testing.T) {
	salt := [CachingSHA2SaltLen]byte([]byte("abcdefghijklmnopqrst"))
	v, err := NewCachingSHA2Verifier("pw", salt, 10000)
	if err != nil {
		t.Fatal(err)
	}
	if !strings.HasPrefix(v.String(), "$A$00A$") {
		t.Fatalf("10000 rounds encoded as %q", v.String()[:7])
	}
	p, err := ParseCachingSHA2Verifier(v.String())
	if err != nil || p.Rounds != 10000 || !p.VerifyPassword("pw") {
		t.Fatalf("parse: %+v %v", p, err)
	}
	for _, r := range []int{0, 999, 1500, 0x1000 * 1000} {
		if _, err := NewCachingSHA2Verifier("pw", salt, r); err == nil {
			t.Errorf("rounds %d accepted", r)
		}
	}
	bad := salt
	bad[3] = '$'
	if _, err := NewCachingSHA2Verifier("pw", bad, 5000); err == nil {
		t.Error("salt with '$' accepted")
	}
}

func TestParseCachingSHA2Errors(t *testing.T) {
	good := "$A$005$abcdefghijklmnopqrst" + strings.Repeat("a", 43)
	if _, err := ParseCachingSHA2Verifier(good); err != nil {
		t.Fatalf("well-formed verifier refused: %v", err)
	}
	for _, tc := range []struct{ in, want string }{
		{"", "not a caching_sha2_password hash"},
		{"$5$saltstring$5B8vYYiY.CVt1RlTTf8KbXBH3hsxY/GNooZaBBGWEc5", "not a caching_sha2_password hash"},
		{"$B$005$abcdefghijklmnopqrst" + strings.Repeat("a", 43), "not a caching_sha2_password hash"},
		{good[:69], "69 bytes, want 70"},
		{good + "a", "71 bytes, want 70"},
		{"$A$0x5$abcdefghijklmnopqrst" + strings.Repeat("a", 43), "rounds"},
		{"$A$000$abcdefghijklmnopqrst" + strings.Repeat("a", 43), "rounds"},
		{"$A$005$abcdefghijklmnopqr\x00t" + strings.Repeat("a", 43), "salt byte 18"},
		{"$A$005$abcdefghijklmnopqrst" + strings.Repeat("a", 42) + "!", "alphabet"},
		{"0xZZ", "0x form"},
	} {
		_, err := ParseCachingSHA2Verifier(tc.in)
		if err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("Parse(%q) = %v, want error containing %q", tc.in, err, tc.want)
		}
	}
}

// sha2Scramble is the client side of fast authentication, as
// go-sql-driver/mysql computes it:
// XOR(SHA256(pw), SHA256(SHA256(SHA256(pw)), nonce)).
func sha2Scramble(nonce []byte, password string) []byte {
	m1 := sha256.Sum256([]byte(password))
	m1h := sha256.Sum256(m1[:])
	h := sha256.New()
	h.Write(m1h[:])
	h.Write(nonce)
	m2 := h.Sum(nil)
	for i := range m2 {
		m2[i] ^= m1[i]
	}
	return m2
}

func TestCachingSHA2FastAuth(t *testing.T) {
	d := NewCachingSHA2Digest("s3cret")
	if want := sha256.Sum256(func() []byte { s := sha256.Sum256([]byte("s3cret")); return s[:] }()); d != want {
		t.Fatal("digest is not SHA256(SHA256(pw))")
	}
	nonce := make([]byte, MySQLScrambleLen)
	rand.Read(nonce)
	if !d.VerifyScramble(nonce, sha2Scramble(nonce, "s3cret")) {
		t.Fatal("right password rejected")
	}
	if d.VerifyScramble(nonce, sha2Scramble(nonce, "s3cret ")) {
		t.Fatal("wrong password accepted")
	}
	other := append([]byte(nil), nonce...)
	other[19] ^= 0x80
	if d.VerifyScramble(other, sha2Scramble(nonce, "s3cret")) {
		t.Fatal("response to another nonce accepted")
	}
	if d.VerifyScramble(nonce, nil) || d.VerifyScramble(nonce[:10], sha2Scramble(nonce[:10], "s3cret")) {
		t.Fatal("malformed input accepted")
	}
}
