package mysqltest

import (
	"context"
	"net"
	"strconv"
	"testing"

	vmysql "vitess.io/vitess/go/mysql"
)

// Suspicions of a review (2026-11-26), checked against MariaDB.

// vitessConn is vitess's client on addr (the endpoint's or a server's):
// unlike go-sql-driver it shows each OK packet's status flags.
func vitessConn(t *testing.T, hostport string) *vmysql.Conn {
	t.Helper()
	host, p, err := net.SplitHostPort(hostport)
	if err != nil {
		t.Fatal(err)
	}
	port, _ := strconv.Atoi(p)
	c, err := vmysql.Connect(context.Background(), &vmysql.ConnParams{Host: host, Port: port, Uname: "app", Pass: "app", DbName: "app"})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(c.Close)
	return c
}

// beginSeen is what a client sees of a transaction right after BEGIN.
type beginSeen struct {
	beginInTrans bool   // SERVER_STATUS_IN_TRANS in BEGIN's OK packet
	inTx         string // SELECT @@in_transaction
	selInTrans   bool   // … and the flag at the end of its result
}

// lookAfterBegin runs begin, SELECT @@in_transaction and ROLLBACK on c.
func lookAfterBegin(t *testing.T, c *vmysql.Conn, begin string) beginSeen {
	t.Helper()
	var s beginSeen
	r, err := c.ExecuteFetch(begin, 1, false)
	if err != nil {
		t.Fatal(err)
	}
	s.beginInTrans = r.StatusFlags&vmysql.ServerStatusInTrans != 0
	r, err = c.ExecuteFetch("SELECT @@in_transaction", 1, false)
	if err != nil {
		t.Fatal(err)
	}
	s.inTx = r.Rows[0][0].ToString()
	s.selInTrans = r.StatusFlags&vmysql.ServerStatusInTrans != 0
	if _, err := c.ExecuteFetch("ROLLBACK", 1, false); err != nil {
		t.Fatal(err)
	}
	return s
}

var beginTexts = []string{"BEGIN", "START TRANSACTION", "START TRANSACTION READ ONLY"}

// Suspicion 1 (status flags): the endpoint holds BEGIN until the
// transaction's first statement, but its OK packet (and the next
// statement's) says SERVER_STATUS_IN_TRANS, as MariaDB's does.
func TestSuspicionMySQLBeginStatusFlags(t *testing.T) {
	sh := cluster.Shards[0].Primary
	for _, begin := range beginTexts {
		t.Run(begin, func(t *testing.T) {
			want := lookAfterBegin(t, vitessConn(t, net.JoinHostPort(sh.Host, strconv.Itoa(sh.Port))), begin)
			got := lookAfterBegin(t, vitessConn(t, addr), begin)
			if !want.beginInTrans || !want.selInTrans {
				t.Fatalf("MariaDB itself: %+v", want)
			}
			if got.beginInTrans != want.beginInTrans || got.selInTrans != want.selInTrans {
				t.Errorf("SERVER_STATUS_IN_TRANS through the endpoint: after BEGIN %v, after the SELECT %v; MariaDB: %v, %v",
					got.beginInTrans, got.selInTrans, want.beginInTrans, want.selInTrans)
			}
		})
	}
}

// Suspicion 1 (@@in_transaction): confirmed and fixed. A SELECT of no
// table first in a transaction ran beside it (frontend/mysqlwire/session.go,
// deferTx: the transaction's first real statement picks its shard), on a
// connection with no transaction, so MariaDB answered 0 there; one that
// asks @@in_transaction now opens the transaction.
func TestSuspicionMySQLInTransactionAfterBegin(t *testing.T) {
	sh := cluster.Shards[0].Primary
	for _, begin := range beginTexts {
		t.Run(begin, func(t *testing.T) {
			want := lookAfterBegin(t, vitessConn(t, net.JoinHostPort(sh.Host, strconv.Itoa(sh.Port))), begin)
			got := lookAfterBegin(t, vitessConn(t, addr), begin)
			if want.inTx != "1" {
				t.Fatalf("MariaDB itself: %+v", want)
			}
			if got.inTx != want.inTx {
				t.Errorf("SELECT @@in_transaction right after %s through the endpoint: %s, MariaDB: %s", begin, got.inTx, want.inTx)
			}
		})
	}
}
