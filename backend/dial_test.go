package backend

import (
	"context"
	"errors"
	"fmt"
	"net"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/shardgate/shardgate/internal/pgio"
	"github.com/shardgate/shardgate/internal/sqlerr"
)

func TestDialLogsInWithSCRAM(t *testing.T) {
	o := dialOptions(t)
	if m := admin(t, "SELECT rolpassword FROM pg_authid WHERE rolname = 'app'")[0]; !strings.HasPrefix(m, "SCRAM-SHA-256$") {
		t.Fatalf("test user's password is not SCRAM: %.14s", m)
	}
	c, err := Dial(context.Background(), o)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	if c.PID() == 0 || len(c.SecretKey()) != 4 {
		t.Fatalf("pid %d, key %v", c.PID(), c.SecretKey())
	}
	if c.ParameterStatus("server_version") == "" || c.ParameterStatus("client_encoding") != "UTF8" {
		t.Fatalf("parameter statuses: version %q, encoding %q", c.ParameterStatus("server_version"), c.ParameterStatus("client_encoding"))
	}
	if c.TxStatus() != pgio.TxIdle || c.Node() != o.Node {
		t.Fatalf("tx %v node %q", c.TxStatus(), c.Node())
	}
	app := o.RuntimeParams["application_name"]
	if got := queryValue(t, c, "SHOW application_name"); got != app {
		t.Fatalf("application_name = %q, want %q", got, app)
	}
	if got := queryValue(t, c, "SELECT pg_backend_pid()"); got != strconv.Itoa(int(c.PID())) {
		t.Fatalf("server pid %s, conn says %d", got, c.PID())
	}
}

func TestDialWrongPasswordIsClearAndKeepsTheSecret(t *testing.T) {
	o := dialOptions(t)
	o.Password = "wr0ng-Pa55word-!"
	_, err := Dial(context.Background(), o)
	e, ok := sqlerr.As(err)
	if !ok || e.Code != sqlerr.ConnectionFailure {
		t.Fatalf("err = %v", err)
	}
	if !strings.Contains(e.Message, o.Node) || !strings.Contains(e.Detail, "password authentication failed") || !strings.Contains(e.Detail, "28P01") {
		t.Fatalf("unclear error: %q / %q", e.Message, e.Detail)
	}
	for _, text := range []string{err.Error(), fmt.Sprintf("%+v", err), e.Detail, errors.Unwrap(e).Error()} {
		if strings.Contains(text, o.Password) || strings.Contains(text, testPassword) {
			t.Fatalf("error shows a password: %s", text)
		}
	}
	if !SafeToRetry(err) {
		t.Fatal("a failed login never sent a statement")
	}
}

func TestDialUnreachableNode(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	port := ln.Addr().(*net.TCPAddr).Port
	ln.Close()
	_, err = Dial(context.Background(), DialOptions{Node: "shard9", Host: "127.0.0.1", Port: port, User: "u", Password: "secret", TLS: TLSDisable})
	e, ok := sqlerr.As(err)
	if !ok || e.Code != sqlerr.ConnectionFailure || e.Message != "could not connect to server shard9" || e.Detail != "connection refused" {
		t.Fatalf("err = %#v", err)
	}
	if !SafeToRetry(err) {
		t.Fatal("not safe to retry")
	}

	// A listener that never answers: the connect timeout ends the login.
	ln, err = net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	start := time.Now()
	_, err = Dial(context.Background(), DialOptions{Node: "mute", Host: "127.0.0.1", Port: ln.Addr().(*net.TCPAddr).Port,
		User: "u", TLS: TLSDisable, ConnectTimeout: 200 * time.Millisecond})
	if e, ok := sqlerr.As(err); !ok || e.Code != sqlerr.ConnectionFailure || e.Detail != "timed out" {
		t.Fatalf("err = %v", err)
	}
	if d := time.Since(start); d > 2*time.Second {
		t.Fatalf("took %v", d)
	}

	// The caller's own cancellation is 57014, not a connection failure.
	ctx, cancel := context.WithTimeout(context.Background(), 100*time.Millisecond)
	defer cancel()
	_, err = Dial(ctx, DialOptions{Host: "127.0.0.1", Port: ln.Addr().(*net.TCPAddr).Port, User: "u", TLS: TLSDisable})
	if e, ok := sqlerr.As(err); !ok || e.Code != sqlerr.QueryCanceled || !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("err = %v", err)
	}
}

func TestDialOptionsValidate(t *testing.T) {
	for _, o := range []DialOptions{
		{Host: "", User: "u"},
		{Host: "h", User: ""},
		{Host: "h", User: "u", Port: 70000},
		{Host: "h", User: "u", TLS: "sometimes"},
		{Host: "h", User: "u", TLS: TLSRequire, CAFile: "/ca.pem"},
		{Host: "h", User: "u", RuntimeParams: map[string]string{"user": "root"}},
		{Host: "/tmp", User: "u", TLS: TLSRequire},
		{Host: "/tmp", User: "u", TLS: TLSVerifyFull},
	} {
		o.EnsureDefaults()
		if o.Validate() == nil {
			t.Errorf("%+v: accepted", o)
		}
	}
	o := DialOptions{Host: "db1", User: "u"}
	o.EnsureDefaults()
	if err := o.Validate(); err != nil || o.Port != 5432 || o.Node != "db1:5432" || o.TLS != TLSPrefer {
		t.Fatalf("defaults: %+v %v", o, err)
	}
	if _, err := Dial(context.Background(), DialOptions{Host: "h"}); err == nil || !SafeToRetry(err) {
		t.Fatalf("invalid options: %v", err)
	}
}

func TestRawQueryAndExtendedProtocol(t *testing.T) {
	c, err := Dial(context.Background(), dialOptions(t))
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()

	// Two statements in one Query: each answers RowDescription, DataRow,
	// CommandComplete; one ReadyForQuery ends it.
	ms := roundTrip(t, c, "SELECT 1 AS x; SELECT 'a' AS y, 2")
	if got := types(ms); got != "TDCTDCZ" {
		t.Fatalf("types = %q", got)
	}
	if tag, _ := pgio.DecodeCommandComplete(ms[2].body); string(tag) != "SELECT 1" {
		t.Fatalf("tag = %q", tag)
	}

	// A failing statement inside a transaction.
	roundTrip(t, c, "BEGIN")
	if c.TxStatus() != pgio.TxInBlock {
		t.Fatalf("after BEGIN: %v", c.TxStatus())
	}
	ms = roundTrip(t, c, "SELECT 1/0")
	if got := types(ms); got != "EZ" || c.TxStatus() != pgio.TxFailed {
		t.Fatalf("types = %q, tx %v", got, c.TxStatus())
	}
	f, err := pgio.DecodeErrorFields(ms[0].body)
	if err != nil || f.Code != "22012" || f.Severity != "ERROR" || f.Routine == "" {
		t.Fatalf("error = %+v %v", f, err)
	}
	roundTrip(t, c, "ROLLBACK")

	// Extended protocol, pipelined in one flush.
	w := c.Writer()
	w.WriteParse(&pgio.Parse{Name: []byte("s1"), Query: []byte("SELECT $1::int + 1"), ParamOIDs: pgio.Uint32s(pgio.AppendUint32s(nil, 23))})
	w.WriteBind(&pgio.Bind{Statement: []byte("s1"), Params: [][]byte{[]byte("41")}})
	w.WriteDescribe(pgio.ObjectPortal, "")
	w.WriteExecute("", 0)
	w.WriteClose(pgio.ObjectStatement, "s1")
	w.WriteSync()
	if err := w.Flush(); err != nil {
		t.Fatal(err)
	}
	ms = readUntilReady(t, c)
	if got := types(ms); got != "12TDC3Z" {
		t.Fatalf("extended types = %q", got)
	}
	if string(ms[3].body[6:]) != "42" {
		t.Fatalf("row = %q", ms[3].body)
	}
}
