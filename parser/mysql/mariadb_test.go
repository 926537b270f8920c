package mysql

import (
	"context"
	"database/sql"
	"database/sql/driver"
	"encoding/hex"
	"strings"
	"testing"
	"time"

	_ "github.com/go-sql-driver/mysql"

	"github.com/shardgate/shardgate/parser"
	"github.com/shardgate/shardgate/sandbox"
)

// TestAgainstMariaDB holds the lexer to the server it stands for: a
// literal's decoded value is what MariaDB reads (byte for byte), and
// Placeholders counts the parameters MariaDB's own COM_STMT_PREPARE
// counts. One standalone MariaDB from the sandbox, a few seconds.
func TestAgainstMariaDB(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	c, err := sandbox.StartMariaDB(ctx, sandbox.Spec{})
	if err != nil {
		t.Fatal(err)
	}
	defer c.Stop()
	node := c.Shards[0].Primary
	db, err := sql.Open("mysql", node.DSN("app", "app", "app")+"?charset=utf8mb4&collation=utf8mb4_bin")
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	db.SetMaxOpenConns(1)

	t.Run("strings", func(t *testing.T) { mariadbStrings(t, ctx, db) })
	t.Run("numbers", func(t *testing.T) { mariadbNumbers(t, ctx, db) })
	t.Run("placeholders", func(t *testing.T) { mariadbPlaceholders(t, ctx, db) })
}

// firstLiteral is the value the analysis gives the first literal of sql.
func firstLiteral(t *testing.T, a *Analyzer, sql string) (parser.Literal, parser.ValueRef) {
	t.Helper()
	st, lits, err := a.Analyze(sql, nil)
	if err != nil || len(lits) == 0 {
		t.Fatalf("%s: %v %v", sql, lits, err)
	}
	return lits[0], st.Keys[0].Values[0]
}

func mariadbStrings(t *testing.T, ctx context.Context, db *sql.DB) {
	a := newAnalyzer(t, 100)
	for _, lit := range []string{
		`'plain'`, `''`, `'it''s'`, `"dq""x"`, `"a 'b' c"`, `'a\'b'`, `'a\"b'`, `'\0\b\n\r\t\Z\\'`,
		`'\%\_%_'`, `'\q\y\u'`, `'tab	raw'`, `'ü and 😀'`, `_utf8mb4'ü'`, `_utf8mb4 'x'`, `'\\'''`,
		`'a' /* c */`, `'x?y'`, `'/*M!z*/'`, `'--'`, `"\\\""`, `'trail  '`,
	} {
		l, ref := firstLiteral(t, a, "SELECT * FROM t WHERE k = "+lit)
		if l.Kind != parser.LiteralString || ref.Source != parser.FromLiteral {
			t.Errorf("%s: %+v %+v", lit, l, ref)
			continue
		}
		var got string
		if err := db.QueryRowContext(ctx, "SELECT HEX("+lit+")").Scan(&got); err != nil {
			t.Errorf("SELECT HEX(%s): %v", lit, err)
			continue
		}
		if want := strings.ToUpper(hex.EncodeToString([]byte(l.Text))); got != want {
			t.Errorf("%s: MariaDB reads %s, the lexer %s (%q)", lit, got, want, l.Text)
		}
	}
}

func mariadbNumbers(t *testing.T, ctx context.Context, db *sql.DB) {
	a := newAnalyzer(t, 100)
	for _, lit := range []string{"42", "-42", "- 7", "007", "1.50", ".5", "3.", "1e3", "2.5E-3", "-1.5e+2", "18446744073709551615", "-9223372036854775808"} {
		l, ref := firstLiteral(t, a, "SELECT * FROM t WHERE k = "+lit)
		text := l.Text
		if ref.Negate {
			text = "-" + text
		}
		// The server compares its reading of the literal with its reading
		// of the lexer's text, both as exact decimals.
		var same int
		q := "SELECT CAST(" + lit + " AS DECIMAL(65,20)) = CAST('" + text + "' AS DECIMAL(65,20))"
		if err := db.QueryRowContext(ctx, q).Scan(&same); err != nil || same != 1 {
			t.Errorf("%s: lexer reads %q (%+v): %d %v", lit, text, ref, same, err)
		}
	}
}

func mariadbPlaceholders(t *testing.T, ctx context.Context, db *sql.DB) {
	conn, err := db.Conn(ctx)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	if _, err := conn.ExecContext(ctx, "CREATE TABLE IF NOT EXISTS p (id BIGINT PRIMARY KEY, v VARCHAR(20))"); err != nil {
		t.Fatal(err)
	}
	for _, q := range []string{
		"SELECT * FROM p WHERE id = ? AND v = ?",
		"SELECT '?', \"?\", `id` FROM p WHERE id = ? -- ?\n AND v = ? # ?",
		"SELECT /* ? */ ? /*!50000 + ? */",
		"SELECT ? /*M!999999 , ? */",
		"SELECT ? /*M!100100 , ? */",
		"INSERT INTO p (id, v) VALUES (?, ?) RETURNING id, ?",
		"DELETE FROM p WHERE id = ? RETURNING v",
		"SELECT 'it''s ?', 'a\\'?' FROM p WHERE id = ?",
		"SELECT 1",
	} {
		n, err := Placeholders(q)
		if err != nil {
			t.Errorf("%s: %v", q, err)
			continue
		}
		var server int
		err = conn.Raw(func(dc any) error {
			st, err := dc.(driver.ConnPrepareContext).PrepareContext(ctx, q)
			if err != nil {
				return err
			}
			defer st.Close()
			server = st.NumInput()
			return nil
		})
		if err != nil {
			t.Errorf("%s: MariaDB: %v", q, err)
			continue
		}
		if n != server {
			t.Errorf("%s: Placeholders %d, MariaDB %d", q, n, server)
		}
	}
}
