package auth

import "testing"

func TestNewVerifiers(t *testing.T) {
	const pw = "tr0ub4dor&3"
	vs, err := NewVerifiers(pw)
	if err != nil {
		t.Fatal(err)
	}
	s, err := ParseSCRAMVerifier(vs.SCRAMSHA256)
	if err != nil {
		t.Fatal(err)
	}
	want, _ := NewSCRAMVerifier(pw, s.Salt, s.Iterations)
	if s.String() != want.String() {
		t.Fatal("SCRAM verifier is not of the password")
	}
	n, err := ParseMySQLNativeVerifier(vs.MySQLNative)
	if err != nil || n != NewMySQLNativeVerifier(pw) {
		t.Fatalf("native: %v", err)
	}
	c, err := ParseCachingSHA2Verifier(vs.CachingSHA2)
	if err != nil || !c.VerifyPassword(pw) || c.Rounds != CachingSHA2Rounds {
		t.Fatalf("caching_sha2: %v", err)
	}
	if _, err := NewVerifiers(""); err == nil {
		t.Fatal("empty password accepted")
	}
}
