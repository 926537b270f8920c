package pgwire

import (
	"crypto/rand"
	"crypto/subtle"
	"encoding/base64"
	"encoding/binary"
	"net"
	"strconv"
	"strings"

	"github.com/jackc/pgx/v5/pgproto3"

	"github.com/shardgate/shardgate/internal/sqlerr"
)

// The server side of SCRAM-SHA-256 (RFC 5802, RFC 7677) as Postgres runs
// it: the user name is the StartupMessage's (the SCRAM n= attribute is
// ignored, libpq sends it empty), there is no authorization identity, and
// without -PLUS there is no channel binding.

const (
	scramMechanism = "SCRAM-SHA-256"
	// scramServerNonceLen is the number of random bytes of the server's
	// part of the nonce: Postgres' SCRAM_RAW_NONCE_LEN.
	scramServerNonceLen = 18
	scramProofLen       = 32
)

// authError is a failed authentication: the client sees only err (28P01,
// identical for a wrong password and an unknown user); UnknownUser is for
// the EventListener.
type authError struct {
	err         *sqlerr.Error
	unknownUser bool
}

func (e *authError) Error() string { return e.err.Error() }
func (e *authError) Unwrap() error { return e.err }

// scramClientFirst is a parsed client-first-message.
type scramClientFirst struct {
	gs2Header string // "n,," or "y,,"
	bare      string // client-first-message-bare
	nonce     string // c-nonce
}

// scramClientFinal is a parsed client-final-message.
type scramClientFinal struct {
	channelBinding string // the c= attribute, still base64
	nonce          string
	withoutProof   string // client-final-message-without-proof
	proof          []byte
}

// authenticate runs a SCRAM-SHA-256 exchange for user on conn. An unknown
// user runs the very same exchange against a mock verifier derived from the
// server's MockKey, so salt and iteration count are stable per name, and
// fails only at the proof, with the same error as a wrong password: the
// client cannot tell which names exist.
func (s *Server) authenticate(conn net.Conn, user string) error {
	// The mock verifier is derived for every user, so a known and an
	// unknown name cost the same before the exchange starts.
	mock := s.mockKey.SCRAMVerifier(user)
	verifier, known := s.opts.Users(user)
	if !known {
		verifier = mock
	}

	msg, err := (&pgproto3.AuthenticationSASL{AuthMechanisms: []string{scramMechanism}}).Encode(nil)
	if err != nil {
		return err
	}
	if _, err := conn.Write(msg); err != nil {
		return s.readError(err, false)
	}

	data, err := s.readSASLInitialResponse(conn)
	if err != nil {
		return err
	}
	first, err := parseSCRAMClientFirst(data)
	if err != nil {
		return err
	}

	var raw [scramServerNonceLen]byte
	rand.Read(raw[:]) // never fails (crypto/rand since Go 1.24)
	nonce := first.nonce + base64.StdEncoding.EncodeToString(raw[:])
	serverFirst := "r=" + nonce + ",s=" + base64.StdEncoding.EncodeToString(verifier.Salt) +
		",i=" + strconv.Itoa(verifier.Iterations)
	if msg, err = (&pgproto3.AuthenticationSASLContinue{Data: []byte(serverFirst)}).Encode(nil); err != nil {
		return err
	}
	if _, err := conn.Write(msg); err != nil {
		return s.readError(err, false)
	}

	typ, body, err := s.readMessage(conn)
	if err != nil {
		return err
	}
	if typ != 'p' {
		return unexpectedMessage(typ)
	}
	final, err := parseSCRAMClientFinal(string(body))
	if err != nil {
		return err
	}
	// Channel binding: without -PLUS, c= is the base64 of the gs2 header
	// the client sent first ("biws" for "n,,", "eSws" for "y,,").
	if final.channelBinding != base64.StdEncoding.EncodeToString([]byte(first.gs2Header)) {
		return protocolError("unexpected SCRAM channel-binding attribute in client-final-message")
	}
	if subtle.ConstantTimeCompare([]byte(final.nonce), []byte(nonce)) != 1 {
		return protocolError("invalid SCRAM response").WithDetail("Nonce does not match.")
	}
	authMessage := []byte(first.bare + "," + serverFirst + "," + final.withoutProof)
	ok := verifier.VerifyClientProof(authMessage, final.proof)
	if !ok || !known {
		return &authError{
			err:         sqlerr.New(sqlerr.InvalidPassword, `password authentication failed for user "%s"`, user),
			unknownUser: !known,
		}
	}

	serverFinal := "v=" + base64.StdEncoding.EncodeToString(verifier.ServerSignature(authMessage))
	if msg, err = (&pgproto3.AuthenticationSASLFinal{Data: []byte(serverFinal)}).Encode(nil); err != nil {
		return err
	}
	if _, err := conn.Write(msg); err != nil {
		return s.readError(err, false)
	}
	return nil
}

// readSASLInitialResponse reads the client's choice of mechanism and its
// client-first-message.
func (s *Server) readSASLInitialResponse(conn net.Conn) (string, error) {
	typ, body, err := s.readMessage(conn)
	if err != nil {
		return "", err
	}
	if typ != 'p' {
		return "", unexpectedMessage(typ)
	}
	mechanism, data, err := parseSASLInitialResponse(body)
	if err != nil {
		return "", err
	}
	if mechanism != scramMechanism {
		return "", protocolError("client selected an invalid SASL authentication mechanism")
	}
	return data, nil
}

// unexpectedMessage is the error for a message other than a SASL response
// during authentication. A Terminate means the client gave up (psql does
// when it has to ask for a password).
func unexpectedMessage(typ byte) error {
	if typ == 'X' {
		return ErrClientGone
	}
	return protocolError("expected SASL response, got message type %d", typ)
}

// parseSASLInitialResponse parses mechanism name (NUL-terminated), data
// length (-1 for none) and data, which must fill the message exactly.
func parseSASLInitialResponse(body []byte) (mechanism, data string, err error) {
	malformed := protocolError("malformed SASLInitialResponse message")
	mechanism, rest, ok := cutNUL(body)
	if !ok || len(rest) < 4 {
		return "", "", malformed
	}
	n := int32(binary.BigEndian.Uint32(rest))
	rest = rest[4:]
	switch {
	case n == -1 && len(rest) == 0:
		return mechanism, "", nil
	case n < 0 || int(n) != len(rest):
		return "", "", malformed
	}
	return mechanism, string(rest), nil
}

func malformedSCRAM(detail string) *sqlerr.Error {
	return protocolError("malformed SCRAM message").WithDetail("%s", detail)
}

// parseSCRAMClientFirst parses
//
//	gs2-header client-first-message-bare
//	gs2-header = ("n" / "y") "," "," (no authzid; "p=" is refused: no -PLUS)
//	bare       = [reserved-mext ","] "n=" saslname "," "r=" c-nonce ["," extensions]
func parseSCRAMClientFirst(msg string) (scramClientFirst, error) {
	var f scramClientFirst
	if msg == "" {
		return f, malformedSCRAM("The message is empty.")
	}
	switch msg[0] {
	case 'n', 'y':
		// "y": the client could bind but thinks we cannot, which is
		// right: we never offer SCRAM-SHA-256-PLUS.
	case 'p':
		return f, malformedSCRAM("The client selected SCRAM-SHA-256 without channel binding, but the SCRAM message includes channel binding data.")
	default:
		return f, malformedSCRAM(`Unexpected channel-binding flag "` + printable(msg[:1]) + `".`)
	}
	if len(msg) < 2 || msg[1] != ',' {
		return f, malformedSCRAM("Comma expected after the channel-binding flag.")
	}
	if strings.HasPrefix(msg[2:], "a=") {
		return f, sqlerr.New(sqlerr.FeatureNotSupported, "client uses authorization identity, but it is not supported")
	}
	if len(msg) < 3 || msg[2] != ',' {
		return f, malformedSCRAM("Unexpected attribute in the gs2 header.")
	}
	f.gs2Header, f.bare = msg[:3], msg[3:]

	attrs := strings.Split(f.bare, ",")
	if strings.HasPrefix(attrs[0], "m=") {
		return f, sqlerr.New(sqlerr.FeatureNotSupported, "client requires an unsupported SCRAM extension")
	}
	if !strings.HasPrefix(attrs[0], "n=") {
		return f, malformedSCRAM(`Attribute "n" expected.`)
	}
	if len(attrs) < 2 || !strings.HasPrefix(attrs[1], "r=") {
		return f, malformedSCRAM(`Attribute "r" expected.`)
	}
	f.nonce = attrs[1][2:]
	if f.nonce == "" || !scramPrintable(f.nonce) {
		return f, malformedSCRAM("Client nonce is empty or contains invalid characters.")
	}
	for _, a := range attrs[2:] {
		if !isAttribute(a) {
			return f, malformedSCRAM("Malformed extension attribute.")
		}
	}
	return f, nil
}

// parseSCRAMClientFinal parses
//
//	"c=" base64 "," "r=" nonce ["," extensions] "," "p=" base64
func parseSCRAMClientFinal(msg string) (scramClientFinal, error) {
	var f scramClientFinal
	attrs := strings.Split(msg, ",")
	if len(attrs) < 3 || !strings.HasPrefix(attrs[0], "c=") {
		return f, malformedSCRAM(`Attribute "c" expected.`)
	}
	if !strings.HasPrefix(attrs[1], "r=") {
		return f, malformedSCRAM(`Attribute "r" expected.`)
	}
	f.channelBinding, f.nonce = attrs[0][2:], attrs[1][2:]
	last := attrs[len(attrs)-1]
	if !strings.HasPrefix(last, "p=") {
		return f, malformedSCRAM(`Attribute "p" expected as the last attribute.`)
	}
	for _, a := range attrs[2 : len(attrs)-1] {
		if !isAttribute(a) || a[0] == 'p' {
			return f, malformedSCRAM("Malformed extension attribute.")
		}
	}
	proof, err := base64.StdEncoding.DecodeString(last[2:])
	if err != nil || len(proof) != scramProofLen {
		return f, malformedSCRAM("Malformed proof in client-final-message.")
	}
	f.proof = proof
	f.withoutProof = msg[:len(msg)-len(last)-1]
	return f, nil
}

// scramPrintable: RFC 5802's printable, %x21-2B / %x2D-7E (no comma).
func scramPrintable(s string) bool {
	for i := 0; i < len(s); i++ {
		if c := s[i]; c < 0x21 || c > 0x7e || c == ',' {
			return false
		}
	}
	return true
}

// isAttribute: a letter, '=', and a value.
func isAttribute(a string) bool {
	return len(a) >= 2 && a[1] == '=' && ('a' <= a[0] && a[0] <= 'z' || 'A' <= a[0] && a[0] <= 'Z')
}

// printable quotes a byte for an error detail without sending control
// characters back.
func printable(s string) string {
	if scramPrintable(s) {
		return s
	}
	q := strconv.QuoteToASCII(s)
	return q[1 : len(q)-1]
}
