package auth

import (
	"crypto/rand"
	"crypto/sha1"
	"strings"
	"testing"
)

func TestMySQLNativeKnownVectors(t *testing.T) {
	// PASSWORD('password') is the widely published value; PASSWORD('app')
	// was computed independently as SHA1(SHA1('app')) with Python's hashlib.
	for pw, want := range map[string]string{
		"password": "*2470C0C06DEE42FD1618BB99005ADCA2EC9D1E19",
		"app":      "*5BCB3E6AC345B435C7C2E6B7949A04CE6F6563D3",
	} {
		if got := NewMySQLNativeVerifier(pw).String(); got != want {
			t.Errorf("PASSWORD(%q) = %s, want %s", pw, got, want)
		}
		v, err := ParseMySQLNativeVerifier(strings.ToLower(want[:1]) + strings.ToLower(want[1:]))
		if err != nil || v.String() != want {
			t.Errorf("parse %s: %v %v", want, v, err)
		}
	}
}

// nativeScramble is the client side, as go-sql-driver/mysql computes it.
func nativeScramble(scramble []byte, password string) []byte {
	stage1 := sha1.Sum([]byte(password))
	stage2 := sha1.Sum(stage1[:])
	h := sha1.New()
	h.Write(scramble)
	h.Write(stage2[:])
	out := h.Sum(nil)
	for i := range out {
		out[i] ^= stage1[i]
	}
	return out
}

func TestMySQLNativeScramble(t *testing.T) {
	v := NewMySQLNativeVerifier("s3cret")
	scramble := make([]byte, MySQLScrambleLen)
	rand.Read(scramble)
	if !v.VerifyScramble(scramble, nativeScramble(scramble, "s3cret")) {
		t.Fatal("right password rejected")
	}
	if v.VerifyScramble(scramble, nativeScramble(scramble, "s3cret!")) {
		t.Fatal("wrong password accepted")
	}
	other := append([]byte(nil), scramble...)
	other[0] ^= 1
	if v.VerifyScramble(other, nativeScramble(scramble, "s3cret")) {
		t.Fatal("response to another scramble accepted")
	}
	if v.VerifyScramble(scramble, nil) {
		t.Fatal("empty response accepted")
	}
	if v.VerifyScramble(scramble[:8], nativeScramble(scramble[:8], "s3cret")) {
		t.Fatal("short scramble accepted")
	}
}

func TestParseMySQLNativeErrors(t *testing.T) {
	for _, in := range []string{
		"",
		"2470C0C06DEE42FD1618BB99005ADCA2EC9D1E19",   // no star
		"*2470C0C06DEE42FD1618BB99005ADCA2EC9D1E1",   // 39 digits
		"*2470C0C06DEE42FD1618BB99005ADCA2EC9D1E19A", // 41 digits
		"*2470C0C06DEE42FD1618BB99005ADCA2EC9D1EZZ",  // not hex
		"*5BCB3E6AC345B435C7C2E6B7949A74CE6F6563D",   // a mistyped PASSWORD('app')
	} {
		if _, err := ParseMySQLNativeVerifier(in); err == nil {
			t.Errorf("ParseMySQLNativeVerifier(%q) accepted", in)
		} else if !strings.Contains(err.Error(), "mysql_native_password") {
			t.Errorf("error %q does not name the format", err)
		}
	}
}
