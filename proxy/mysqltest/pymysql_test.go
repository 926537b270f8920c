package mysqltest

import (
	"net"
	"os/exec"
	"strings"
	"testing"
)

// PyMySQL (Debian's python3-pymysql, for the system interpreter) with its
// default autocommit=0: every statement opens a transaction, as the
// server's status flags say; another client sees the row only after
// COMMIT; one transaction reads on both shards and writes on one; a
// syntax error is 1064 and the connection survives.
func TestPyMySQL(t *testing.T) {
	host, port, _ := net.SplitHostPort(addr)
	ids := idsOnEachShard(t, 7000)
	script := `
import sys, pymysql
host, port, a, b = sys.argv[1], int(sys.argv[2]), int(sys.argv[3]), int(sys.argv[4])
def connect():
    return pymysql.connect(host=host, port=port, user="app", password="app", database="app")
c1, c2 = connect(), connect()
assert c1.get_autocommit() is False
for uid in (a, b):
    with c1.cursor() as cur:
        cur.execute("DELETE FROM users WHERE id = %s", (uid,))
    c1.commit()
    with c1.cursor() as cur:
        cur.execute("INSERT INTO users (id, name) VALUES (%s, %s)", (uid, "py ü"))
    with c2.cursor() as cur:
        cur.execute("SELECT COUNT(*) FROM users WHERE id = %s", (uid,))
        assert cur.fetchone()[0] == 0, "uncommitted row visible"
    c2.commit()
    c1.commit()
    with c2.cursor() as cur:
        cur.execute("SELECT name FROM users WHERE id = %s", (uid,))
        assert cur.fetchone()[0] == "py ü"
    c2.commit()
with c1.cursor() as cur:
    cur.execute("INSERT INTO users (id, name) VALUES (%s, 'gone')", (a + 1000,))
c1.rollback()
with c2.cursor() as cur:
    cur.execute("SELECT COUNT(*) FROM users WHERE id = %s", (a + 1000,))
    assert cur.fetchone()[0] == 0, "rolled back row visible"
try:
    with c1.cursor() as cur:
        cur.execute("SELEKT 1")
    raise SystemExit("no error")
except pymysql.err.ProgrammingError as e:
    assert e.args[0] == 1064, e.args
with c1.cursor() as cur:
    cur.execute("SELECT name FROM products WHERE id = 2")
    assert cur.fetchone()[0] == "mouse"
# Reads on both shards in one implicit transaction, a write on one.
with c1.cursor() as cur:
    cur.execute("SELECT COUNT(*) FROM users WHERE id = %s", (a,))
    cur.execute("SELECT COUNT(*) FROM users WHERE id = %s", (b,))
    cur.execute("UPDATE users SET name = 'py 2' WHERE id = %s", (b,))
    cur.execute("SELECT name FROM users WHERE id = %s", (a,))
    assert cur.fetchone()[0] == "py ü"
c1.commit()
c2.commit()  # c2's own snapshot ends: it reads what is committed now
with c2.cursor() as cur:
    cur.execute("SELECT name FROM users WHERE id = %s", (b,))
    assert cur.fetchone()[0] == "py 2"
c2.commit()
try:
    pymysql.connect(host=host, port=port, user="app", password="bad", database="app")
    raise SystemExit("logged in with a wrong password")
except pymysql.err.OperationalError as e:
    assert e.args[0] == 1045, e.args
print("ok")
`
	out, err := exec.Command("/usr/bin/python3", "-c", script, host, port, itoa(ids[0]), itoa(ids[1])).CombinedOutput()
	if err != nil || strings.TrimSpace(string(out)) != "ok" {
		t.Fatalf("%v: %s", err, out)
	}
}
