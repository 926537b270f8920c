package auth

import (
	"errors"
	"fmt"
)

// Verifiers are the three verifiers of one password, in text form, as the
// config's users hold them.
type Verifiers struct {
	SCRAMSHA256 string // SCRAM-SHA-256$4096:…
	MySQLNative string // *…
	CachingSHA2 string // $A$005$…
}

// NewVerifiers makes all three verifiers of password, with fresh random
// salts and the servers' default costs. An empty password is refused: the
// MySQL protocol cannot tell it from "no password".
func NewVerifiers(password string) (Verifiers, error) {
	if password == "" {
		return Verifiers{}, fmt.Errorf("verifiers: %w", errEmptyPassword)
	}
	scram, err := newRandomSCRAMVerifier(password)
	if err != nil {
		return Verifiers{}, fmt.Errorf("verifiers: %w", err)
	}
	sha2, err := newRandomCachingSHA2Verifier(password)
	if err != nil {
		return Verifiers{}, fmt.Errorf("verifiers: %w", err)
	}
	return Verifiers{
		SCRAMSHA256: scram.String(),
		MySQLNative: NewMySQLNativeVerifier(password).String(),
		CachingSHA2: sha2.String(),
	}, nil
}

// errEmptyPassword is returned when verifiers would be made from "".
var errEmptyPassword = errors.New("empty password")
