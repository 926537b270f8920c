package auth

import (
	"crypto/sha256"
	"errors"
	"strconv"
	"strings"
)

// SHA-256-crypt (the "$5$" scheme of glibc's crypt) after Ulrich Drepper's
// specification, "Unix crypt using SHA-256 and SHA-512". The Go standard
// library and x/crypto have no implementation. MySQL's caching_sha2_password
// stores its hash with it, but with a 20-byte salt where the specification
// truncates salts to 16, so the salt limit is the caller's.

const (
	shaCryptHashLen       = 43 // encoded length of a SHA-256 digest
	shaCryptDefaultRounds = 5000
	shaCryptMinRounds     = 1000
	shaCryptMaxRounds     = 999_999_999
	shaCryptMaxSalt       = 16
)

const cryptAlphabet = "./0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz"

// sha256CryptHash returns the 43-character encoded hash of password with salt
// and rounds; it applies no limits to salt length or rounds.
func sha256CryptHash(password, salt []byte, rounds int) string {
	// Digest B: password, salt, password.
	h := sha256.New()
	h.Write(password)
	h.Write(salt)
	h.Write(password)
	b := h.Sum(nil)

	// Digest A: password, salt, then B for every byte of the password, then
	// B or the password for every bit of the password's length.
	h.Reset()
	h.Write(password)
	h.Write(salt)
	n := len(password)
	for ; n > sha256.Size; n -= sha256.Size {
		h.Write(b)
	}
	h.Write(b[:n])
	for n = len(password); n > 0; n >>= 1 {
		if n&1 != 0 {
			h.Write(b)
		} else {
			h.Write(password)
		}
	}
	a := h.Sum(nil)

	// P: digest of the password repeated len(password) times, stretched to
	// len(password) bytes.
	h.Reset()
	for range len(password) {
		h.Write(password)
	}
	p := stretch(h.Sum(nil), len(password))

	// S: digest of the salt repeated 16+A[0] times, stretched to len(salt).
	h.Reset()
	for range 16 + int(a[0]) {
		h.Write(salt)
	}
	s := stretch(h.Sum(nil), len(salt))

	c := a
	for i := range rounds {
		h.Reset()
		if i&1 != 0 {
			h.Write(p)
		} else {
			h.Write(c)
		}
		if i%3 != 0 {
			h.Write(s)
		}
		if i%7 != 0 {
			h.Write(p)
		}
		if i&1 != 0 {
			h.Write(c)
		} else {
			h.Write(p)
		}
		c = h.Sum(c[:0])
	}

	out := make([]byte, 0, shaCryptHashLen)
	for _, t := range [...][3]int{
		{0, 10, 20}, {21, 1, 11}, {12, 22, 2}, {3, 13, 23}, {24, 4, 14},
		{15, 25, 5}, {6, 16, 26}, {27, 7, 17}, {18, 28, 8}, {9, 19, 29},
	} {
		out = cryptBase64(out, c[t[0]], c[t[1]], c[t[2]], 4)
	}
	out = cryptBase64(out, 0, c[31], c[30], 3)
	return string(out)
}

// stretch repeats digest to n bytes.
func stretch(digest []byte, n int) []byte {
	out := make([]byte, 0, n)
	for len(out) < n {
		out = append(out, digest[:min(len(digest), n-len(out))]...)
	}
	return out
}

// cryptBase64 appends n characters encoding the 24-bit group b2 b1 b0, least
// significant six bits first.
func cryptBase64(dst []byte, b2, b1, b0 byte, n int) []byte {
	w := uint32(b2)<<16 | uint32(b1)<<8 | uint32(b0)
	for range n {
		dst = append(dst, cryptAlphabet[w&0x3f])
		w >>= 6
	}
	return dst
}

// sha256Crypt is crypt(3) for "$5$" settings: setting is "$5$[rounds=N$]salt"
// (anything after a further "$" is ignored, so a full hash works as its own
// setting). It returns the full "$5$…$hash" string; salts are cut to 16
// bytes and rounds clamped to 1000..999999999, as the specification says.
func sha256Crypt(password, setting string) (string, error) {
	rest, ok := strings.CutPrefix(setting, "$5$")
	if !ok {
		return "", errors.New(`sha256-crypt: setting must start with "$5$"`)
	}
	rounds, custom := shaCryptDefaultRounds, false
	if r, ok := strings.CutPrefix(rest, "rounds="); ok {
		num, after, found := strings.Cut(r, "$")
		n, err := strconv.ParseUint(num, 10, 64)
		if !found || err != nil {
			return "", errors.New("sha256-crypt: bad rounds= field")
		}
		rounds = int(min(max(n, shaCryptMinRounds), shaCryptMaxRounds))
		custom, rest = true, after
	}
	salt, _, _ := strings.Cut(rest, "$")
	salt = salt[:min(len(salt), shaCryptMaxSalt)]

	var sb strings.Builder
	sb.WriteString("$5$")
	if custom {
		sb.WriteString("rounds=" + strconv.Itoa(rounds) + "$")
	}
	sb.WriteString(salt + "$")
	sb.WriteString(sha256CryptHash([]byte(password), []byte(salt), rounds))
	return sb.String(), nil
}
