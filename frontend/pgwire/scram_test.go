package pgwire

import (
	"encoding/base64"
	"encoding/binary"
	"errors"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/jackc/pgx/v5/pgproto3"

	"github.com/shardgate/shardgate/internal/sqlerr"
)

func TestParseSCRAMClientFirst(t *testing.T) {
	f, err := parseSCRAMClientFirst("y,,n=ignored,r=abc+/~!,x=ext")
	if err != nil {
		t.Fatal(err)
	}
	if f.gs2Header != "y,," || f.bare != "n=ignored,r=abc+/~!,x=ext" || f.nonce != "abc+/~!" {
		t.Fatalf("%+v", f)
	}
	for _, tc := range []struct{ in, code, detail string }{
		{"", sqlerr.ProtocolViolation, "empty"},
		{"p=tls-server-end-point,,n=,r=abc", sqlerr.ProtocolViolation, "channel binding data"},
		{"q,,n=,r=abc", sqlerr.ProtocolViolation, "channel-binding flag"},
		{"\x01,,n=,r=abc", sqlerr.ProtocolViolation, `\x01`},
		{"n", sqlerr.ProtocolViolation, "Comma expected"},
		{"nx,n=,r=abc", sqlerr.ProtocolViolation, "Comma expected"},
		{"n,a=admin,n=,r=abc", sqlerr.FeatureNotSupported, ""},
		{"n,x,n=,r=abc", sqlerr.ProtocolViolation, "gs2 header"},
		{"n,,m=ext,n=,r=abc", sqlerr.FeatureNotSupported, ""},
		{"n,,r=abc", sqlerr.ProtocolViolation, `"n"`},
		{"n,,n=", sqlerr.ProtocolViolation, `"r"`},
		{"n,,n=,x=abc", sqlerr.ProtocolViolation, `"r"`},
		{"n,,n=,r=", sqlerr.ProtocolViolation, "nonce"},
		{"n,,n=,r=ab c", sqlerr.ProtocolViolation, "nonce"},
		{"n,,n=,r=ab\x7f", sqlerr.ProtocolViolation, "nonce"},
		{"n,,n=,r=abc,", sqlerr.ProtocolViolation, "extension"},
		{"n,,n=,r=abc,1=x", sqlerr.ProtocolViolation, "extension"},
	} {
		_, err := parseSCRAMClientFirst(tc.in)
		e, ok := sqlerr.As(err)
		if !ok || e.Code != tc.code || !strings.Contains(e.Detail, tc.detail) {
			t.Errorf("%q: %v (detail %q), want %s with detail containing %q", tc.in, err, e.Detail, tc.code, tc.detail)
		}
	}
}

func TestParseSCRAMClientFinal(t *testing.T) {
	proof := base64.StdEncoding.EncodeToString(make([]byte, 32))
	f, err := parseSCRAMClientFinal("c=biws,r=abcdef,x=1,p=" + proof)
	if err != nil {
		t.Fatal(err)
	}
	if f.channelBinding != "biws" || f.nonce != "abcdef" || f.withoutProof != "c=biws,r=abcdef,x=1" || len(f.proof) != 32 {
		t.Fatalf("%+v", f)
	}
	for _, in := range []string{
		"",
		"c=biws",
		"c=biws,r=abc",
		"r=abc,c=biws,p=" + proof,
		"c=biws,x=abc,p=" + proof,
		"c=biws,r=abc,p=" + proof + ",x=1",
		"c=biws,r=abc,p=" + proof + ",p=" + proof,
		"c=biws,r=abc,,p=" + proof,
		"c=biws,r=abc,p=" + proof[:20],
		"c=biws,r=abc,p=" + base64.StdEncoding.EncodeToString(make([]byte, 31)),
		"c=biws,r=abc,p=!!!!",
	} {
		if _, err := parseSCRAMClientFinal(in); err == nil {
			t.Errorf("%q accepted", in)
		} else if e, ok := sqlerr.As(err); !ok || e.Code != sqlerr.ProtocolViolation {
			t.Errorf("%q: %v, want 08P01", in, err)
		}
	}
}

func TestParseSASLInitialResponse(t *testing.T) {
	body := saslInitial("SCRAM-SHA-256", "n,,n=,r=x")[5:]
	if m, d, err := parseSASLInitialResponse(body); err != nil || m != "SCRAM-SHA-256" || d != "n,,n=,r=x" {
		t.Fatalf("%q %q %v", m, d, err)
	}
	none := binary.BigEndian.AppendUint32([]byte("SCRAM-SHA-256\x00"), 0xffffffff)
	if _, d, err := parseSASLInitialResponse(none); err != nil || d != "" {
		t.Fatalf("length -1: %q %v", d, err)
	}
	for _, b := range [][]byte{
		nil,
		[]byte("SCRAM-SHA-256"),
		[]byte("SCRAM-SHA-256\x00\x00\x00"),
		append(binary.BigEndian.AppendUint32([]byte("SCRAM-SHA-256\x00"), 5), "abcd"...),
		append(binary.BigEndian.AppendUint32([]byte("SCRAM-SHA-256\x00"), 3), "abcd"...),
		append(binary.BigEndian.AppendUint32([]byte("SCRAM-SHA-256\x00"), 0xfffffffe), "abcd"...),
		append(binary.BigEndian.AppendUint32([]byte("SCRAM-SHA-256\x00"), 0xffffffff), "abcd"...),
	} {
		if _, _, err := parseSASLInitialResponse(b); err == nil {
			t.Errorf("%q accepted", b)
		}
	}
}

// Clients that break the SASL exchange get the right error and are closed;
// the server goes on.
func TestGarbageSASL(t *testing.T) {
	ts := startServer(t, nil)
	start := func(t *testing.T) *rawConn {
		c := dialRaw(t, ts)
		c.send(startupPacket(v30, "user", "alice"))
		c.expectSASL()
		return c
	}
	for _, tc := range []struct {
		name string
		run  func(t *testing.T) *rawConn
		code string
	}{
		{"query instead of SASL", func(t *testing.T) *rawConn {
			c := start(t)
			c.send(query("SELECT 1"))
			return c
		}, sqlerr.ProtocolViolation},
		{"password message", func(t *testing.T) *rawConn {
			c := start(t)
			c.send(typed('p', []byte("secret\x00")))
			return c
		}, sqlerr.ProtocolViolation},
		{"other mechanism", func(t *testing.T) *rawConn {
			c := start(t)
			c.send(saslInitial("SCRAM-SHA-256-PLUS", "p=tls-server-end-point,,n=,r=abc"))
			return c
		}, sqlerr.ProtocolViolation},
		{"channel binding requested", func(t *testing.T) *rawConn {
			c := start(t)
			c.send(saslInitial("SCRAM-SHA-256", "p=tls-server-end-point,,n=,r=abc"))
			return c
		}, sqlerr.ProtocolViolation},
		{"authzid", func(t *testing.T) *rawConn {
			c := start(t)
			c.send(saslInitial("SCRAM-SHA-256", "n,a=postgres,n=,r=abc"))
			return c
		}, sqlerr.FeatureNotSupported},
		{"nonce with a space", func(t *testing.T) *rawConn {
			c := start(t)
			c.send(saslInitial("SCRAM-SHA-256", "n,,n=,r=a c"))
			return c
		}, sqlerr.ProtocolViolation},
		{"data length lies", func(t *testing.T) *rawConn {
			c := start(t)
			b := saslInitial("SCRAM-SHA-256", "n,,n=,r=abc")
			b[5+len("SCRAM-SHA-256")+1+3]++ // data length one more than sent
			c.send(b)
			return c
		}, sqlerr.ProtocolViolation},
		{"message length too large", func(t *testing.T) *rawConn {
			c := start(t)
			c.send([]byte{'p', 0x7f, 0, 0, 0})
			return c
		}, sqlerr.ProtocolViolation},
		{"message length too small", func(t *testing.T) *rawConn {
			c := start(t)
			c.send([]byte{'p', 0, 0, 0, 3})
			return c
		}, sqlerr.ProtocolViolation},
		{"binary garbage", func(t *testing.T) *rawConn {
			c := start(t)
			c.send(typed('p', []byte{0xff, 0xfe, 0, 1, 2, 3, 4, 5}))
			return c
		}, sqlerr.ProtocolViolation},
		{"wrong channel binding in final", func(t *testing.T) *rawConn {
			c := start(t)
			sc := newSCRAMClient(testPassword)
			c.send(saslInitial("SCRAM-SHA-256", sc.first()))
			sc.gs2 = "y,," // c= now says eSws
			final, _ := sc.final(t, c.expectContinue())
			c.send(typed('p', []byte(final)))
			return c
		}, sqlerr.ProtocolViolation},
		{"nonce not the server's", func(t *testing.T) *rawConn {
			c := start(t)
			sc := newSCRAMClient(testPassword)
			c.send(saslInitial("SCRAM-SHA-256", sc.first()))
			serverFirst := c.expectContinue()
			final, _ := sc.final(t, serverFirst)
			nonce := strings.Split(serverFirst, ",")[0][2:]
			other := nonce[:len(nonce)-1] + "A"
			if other == nonce {
				other = nonce[:len(nonce)-1] + "B"
			}
			c.send(typed('p', []byte(strings.Replace(final, nonce, other, 1))))
			return c
		}, sqlerr.ProtocolViolation},
		{"garbage final", func(t *testing.T) *rawConn {
			c := start(t)
			c.send(saslInitial("SCRAM-SHA-256", newSCRAMClient("x").first()))
			c.expectContinue()
			c.send(typed('p', []byte("hello")))
			return c
		}, sqlerr.ProtocolViolation},
		{"second initial response", func(t *testing.T) *rawConn {
			c := start(t)
			sc := newSCRAMClient(testPassword)
			c.send(saslInitial("SCRAM-SHA-256", sc.first()))
			c.expectContinue()
			c.send(saslInitial("SCRAM-SHA-256", sc.first()))
			return c
		}, sqlerr.ProtocolViolation},
		{"wrong proof", func(t *testing.T) *rawConn {
			c := start(t)
			sc := newSCRAMClient("not the password")
			c.send(saslInitial("SCRAM-SHA-256", sc.first()))
			final, _ := sc.final(t, c.expectContinue())
			c.send(typed('p', []byte(final)))
			return c
		}, sqlerr.InvalidPassword},
	} {
		t.Run(tc.name, func(t *testing.T) {
			tc.run(t).expectError(tc.code)
		})
	}
	if _, err := connect(t, ts, "alice", testPassword, "sslmode=disable"); err != nil {
		t.Fatalf("good client after bad ones: %v", err)
	}
}

// An unknown user runs the whole exchange, with a salt that is stable per
// name, and fails exactly like a wrong password.
func TestUnknownUserRunsTheSameExchange(t *testing.T) {
	ts := startServer(t, nil)
	exchange := func(user, password string) (serverFirst string, e *pgproto3.ErrorResponse) {
		c := dialRaw(t, ts)
		c.send(startupPacket(v30, "user", user))
		c.expectSASL()
		sc := newSCRAMClient(password)
		c.send(saslInitial("SCRAM-SHA-256", sc.first()))
		serverFirst = c.expectContinue()
		final, _ := sc.final(t, serverFirst)
		c.send(typed('p', []byte(final)))
		return serverFirst, c.expectError(sqlerr.InvalidPassword)
	}
	salt := func(serverFirst string) string { return strings.Split(serverFirst, ",")[1] }
	f1, unknown := exchange("nobody", testPassword)
	f2, _ := exchange("nobody", "other")
	f3, _ := exchange("nobody2", testPassword)
	_, wrong := exchange("alice", "wrong")
	if salt(f1) != salt(f2) || salt(f1) == salt(f3) {
		t.Fatalf("mock salts: %s %s %s", salt(f1), salt(f2), salt(f3))
	}
	if !strings.HasSuffix(f1, ",i=4096") {
		t.Fatalf("mock iterations: %s", f1)
	}
	unknown.Message = strings.ReplaceAll(unknown.Message, "nobody", "alice")
	if !reflect.DeepEqual(unknown, wrong) {
		t.Fatalf("unknown user %+v\nwrong password %+v", unknown, wrong)
	}
	// No short-circuit: exchange has already shown that the unknown user
	// gets a server-first message, sends its proof, and only then fails.
	// (Wall-clock comparisons are too noisy for a test; the server does
	// the same HMAC work on both paths: see authenticate.)
}

func TestTerminateDuringAuth(t *testing.T) {
	ts := startServer(t, nil)
	c := dialRaw(t, ts)
	c.send(startupPacket(v30, "user", "alice"))
	c.expectSASL()
	c.send(typed('X', nil))
	c.expectClosed()
	waitFor(t, func() bool {
		f := ts.ev.startupFailures()
		return len(f) == 1 && errors.Is(f[0].Err, ErrClientGone) && f[0].Code == ""
	})
}

// waitFor polls cond for up to 5 seconds.
func waitFor(t *testing.T, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(5 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatal("condition not met in 5s")
		}
		time.Sleep(5 * time.Millisecond)
	}
}

func FuzzParseSCRAM(f *testing.F) {
	f.Add("n,,n=,r=rOprNGfwEbeRWgbNEkqO")
	f.Add("y,,n=user,r=abc,x=y")
	f.Add("c=biws,r=abc,p=" + base64.StdEncoding.EncodeToString(make([]byte, 32)))
	f.Add("p=tls-server-end-point,,n=,r=x")
	f.Fuzz(func(t *testing.T, msg string) {
		if first, err := parseSCRAMClientFirst(msg); err == nil {
			if first.gs2Header+first.bare != msg || first.nonce == "" || !scramPrintable(first.nonce) {
				t.Fatalf("accepted %q as %+v", msg, first)
			}
		} else if _, ok := sqlerr.As(err); !ok {
			t.Fatalf("error %v is not an sqlerr.Error", err)
		}
		if final, err := parseSCRAMClientFinal(msg); err == nil {
			if len(final.proof) != scramProofLen || !strings.HasPrefix(msg, final.withoutProof+",p=") {
				t.Fatalf("accepted %q as %+v", msg, final)
			}
		} else if _, ok := sqlerr.As(err); !ok {
			t.Fatalf("error %v is not an sqlerr.Error", err)
		}
		parseSASLInitialResponse([]byte(msg))
	})
}
