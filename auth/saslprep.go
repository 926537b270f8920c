package auth

import (
	"unicode"
	"unicode/utf8"

	"golang.org/x/text/unicode/bidi"
	"golang.org/x/text/unicode/norm"
)

// saslPrep prepares a SCRAM password with SASLprep (RFC 4013) the way
// Postgres' pg_saslprep and libpq do, so that a verifier made here matches
// what a client derives from the same non-ASCII password:
//
//   - pure ASCII passwords are used as they are;
//   - a password that is not valid UTF-8, or that SASLprep prohibits, is
//     also used as it is (Postgres' fallback, rather than an error);
//   - otherwise non-ASCII spaces become U+0020, "commonly mapped to nothing"
//     characters are dropped, and the result is NFKC-normalised.
//
// One known difference: RFC 3454 prohibits code points unassigned in Unicode
// 3.2; we can only test against the Unicode version Go ships, so a password
// that mixes a character added after 3.2 with characters that NFKC changes
// is normalised here and used raw by Postgres.
func saslPrep(password string) string {
	ascii := true
	for i := 0; i < len(password); i++ {
		if password[i] >= utf8.RuneSelf {
			ascii = false
			break
		}
	}
	if ascii || !utf8.ValidString(password) {
		return password
	}
	mapped := make([]rune, 0, len(password))
	for _, r := range password {
		switch {
		case inRanges(r, nonASCIISpace):
			mapped = append(mapped, ' ')
		case inRanges(r, mappedToNothing):
		default:
			mapped = append(mapped, r)
		}
	}
	out := norm.NFKC.String(string(mapped))

	var randAL, l bool
	first, last := rune(-1), rune(-1)
	for _, r := range out {
		if inRanges(r, prohibited) || !assigned(r) {
			return password
		}
		if first < 0 {
			first = r
		}
		last = r
		switch bidiClass(r) {
		case bidi.R, bidi.AL:
			randAL = true
		case bidi.L:
			l = true
		}
	}
	// RFC 3454 §6: a string with right-to-left characters must not hold
	// left-to-right ones, and must start and end with a right-to-left one.
	if randAL && (l || !isRandAL(first) || !isRandAL(last)) {
		return password
	}
	return out
}

func bidiClass(r rune) bidi.Class {
	p, _ := bidi.LookupRune(r)
	return p.Class()
}

func isRandAL(r rune) bool {
	c := bidiClass(r)
	return c == bidi.R || c == bidi.AL
}

// assigned approximates "assigned in Unicode 3.2" with Go's tables: unicode.C
// is Cc|Cf|Co|Cs, so Cn (unassigned) is what no category holds.
func assigned(r rune) bool {
	return unicode.In(r, unicode.L, unicode.M, unicode.N, unicode.P, unicode.S, unicode.Z, unicode.C)
}

type runeRange struct{ lo, hi rune }

func inRanges(r rune, table []runeRange) bool {
	for _, rr := range table {
		if r >= rr.lo && r <= rr.hi {
			return true
		}
	}
	return false
}

// RFC 3454 table C.1.2, as Postgres lists it.
var nonASCIISpace = []runeRange{
	{0x00A0, 0x00A0}, {0x1680, 0x1680}, {0x2000, 0x200B}, {0x202F, 0x202F},
	{0x205F, 0x205F}, {0x3000, 0x3000},
}

// RFC 3454 table B.1.
var mappedToNothing = []runeRange{
	{0x00AD, 0x00AD}, {0x034F, 0x034F}, {0x1806, 0x1806}, {0x180B, 0x180D},
	{0x200B, 0x200D}, {0x2060, 0x2060}, {0xFE00, 0xFE0F}, {0xFEFF, 0xFEFF},
}

// RFC 3454 tables C.1.2, C.2.1, C.2.2, C.3, C.4, C.5, C.6, C.7, C.8 and C.9:
// what RFC 4013 §2.3 prohibits in the output.
var prohibited = []runeRange{
	// C.1.2 non-ASCII space
	{0x00A0, 0x00A0}, {0x1680, 0x1680}, {0x2000, 0x200B}, {0x202F, 0x202F},
	{0x205F, 0x205F}, {0x3000, 0x3000},
	// C.2.1 ASCII control
	{0x0000, 0x001F}, {0x007F, 0x007F},
	// C.2.2 non-ASCII control
	{0x0080, 0x009F}, {0x06DD, 0x06DD}, {0x070F, 0x070F}, {0x180E, 0x180E},
	{0x200C, 0x200D}, {0x2028, 0x2029}, {0x2060, 0x2063}, {0x206A, 0x206F},
	{0xFEFF, 0xFEFF}, {0xFFF9, 0xFFFC}, {0x1D173, 0x1D17A},
	// C.3 private use
	{0xE000, 0xF8FF}, {0xF0000, 0xFFFFD}, {0x100000, 0x10FFFD},
	// C.4 non-character code points
	{0xFDD0, 0xFDEF}, {0xFFFE, 0xFFFF}, {0x1FFFE, 0x1FFFF}, {0x2FFFE, 0x2FFFF},
	{0x3FFFE, 0x3FFFF}, {0x4FFFE, 0x4FFFF}, {0x5FFFE, 0x5FFFF}, {0x6FFFE, 0x6FFFF},
	{0x7FFFE, 0x7FFFF}, {0x8FFFE, 0x8FFFF}, {0x9FFFE, 0x9FFFF}, {0xAFFFE, 0xAFFFF},
	{0xBFFFE, 0xBFFFF}, {0xCFFFE, 0xCFFFF}, {0xDFFFE, 0xDFFFF}, {0xEFFFE, 0xEFFFF},
	{0xFFFFE, 0xFFFFF}, {0x10FFFE, 0x10FFFF},
	// C.5 surrogates
	{0xD800, 0xDFFF},
	// C.6 inappropriate for plain text
	{0xFFF9, 0xFFFD},
	// C.7 inappropriate for canonical representation
	{0x2FF0, 0x2FFB},
	// C.8 change display properties or deprecated
	{0x0340, 0x0341}, {0x200E, 0x200F}, {0x202A, 0x202E}, {0x206A, 0x206F},
	// C.9 tagging characters
	{0xE0001, 0xE0001}, {0xE0020, 0xE007F},
}
