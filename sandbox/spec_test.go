package sandbox

import (
	"strings"
	"testing"
)

func TestSpecDefaults(t *testing.T) {
	s, err := Spec{}.withDefaults(Postgres)
	must(t, err)
	if s.Shards != 1 || s.Replicas != 0 || s.Database != "app" || len(s.Users) != 1 || s.Users[0] != (User{Name: "app", Password: "app"}) {
		t.Errorf("defaults = %+v", s)
	}
}

func TestSpecValidate(t *testing.T) {
	for _, tc := range []struct {
		engine Engine
		spec   Spec
		want   string
	}{
		{Postgres, Spec{Shards: -1}, "Shards"},
		{Postgres, Spec{Replicas: -1}, "Replicas"},
		{Postgres, Spec{Database: "a b"}, "Database"},
		{Postgres, Spec{Users: []User{{Name: "x;y", Password: "p"}}}, "plain identifier"},
		{Postgres, Spec{Users: []User{{Name: "postgres", Password: "p"}}}, "reserved"},
		{MariaDB, Spec{Users: []User{{Name: "sandbox_repl", Password: "p"}}}, "reserved"},
		{Postgres, Spec{Users: []User{{Name: "pg_x", Password: "p"}}}, "reserved"},
		{Postgres, Spec{Users: []User{{Name: "a", Password: "p"}, {Name: "A", Password: "p"}}}, "twice"},
		{Postgres, Spec{Users: []User{{Name: "a"}}}, "no password"},
		{Postgres, Spec{Settings: map[string]string{"port": "1"}}, "per node"},
		{MariaDB, Spec{Settings: map[string]string{"server-id": "1"}}, "per node"},
		{MariaDB, Spec{Settings: map[string]string{"x": "a\nb"}}, "line break"},
		{MariaDB, Spec{Settings: map[string]string{"a=b": "1"}}, "malformed"},
	} {
		_, err := tc.spec.withDefaults(tc.engine)
		if err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%v %+v: got %v, want an error about %q", tc.engine, tc.spec, err, tc.want)
		}
	}
}

func TestStrings(t *testing.T) {
	for v, want := range map[interface{ String() string }]string{
		Postgres: "postgres", MariaDB: "mariadb", Engine(9): "Engine(9)",
		Primary: "primary", Replica: "replica", Role(0): "Role(0)",
	} {
		if got := v.String(); got != want {
			t.Errorf("String() = %q, want %q", got, want)
		}
	}
}

func TestQuoting(t *testing.T) {
	for _, tc := range []struct{ got, want string }{
		{pgConfQuote(`a'b\c`), `'a''b\\c'`},
		{pgConnQuote(`/x y/'z`), `'/x y/\'z'`},
		{pgLiteral(`it's`), `'it''s'`},
		{pgIdent(`Ab"c`), `"Ab""c"`},
		{mysqlLiteral(`it's \`), `'it\'s \\'`},
		{mysqlIdent("a`b"), "`a``b`"},
		{mysqlAccount("app"), "'app'@'%'"},
	} {
		if tc.got != tc.want {
			t.Errorf("got %s, want %s", tc.got, tc.want)
		}
	}
}

func TestPortLeases(t *testing.T) {
	var leases []*portLease
	defer func() {
		for _, l := range leases {
			l.release()
		}
	}()
	seen := map[int]bool{}
	for range 20 {
		l, err := leasePort()
		must(t, err)
		leases = append(leases, l)
		if forbiddenPorts[l.Port] || seen[l.Port] {
			t.Fatalf("leased port %d twice or forbidden", l.Port)
		}
		seen[l.Port] = true
	}
	// A leased port cannot be leased again, even from this process (flock
	// is per open file), until released.
	l0 := leases[0]
	again, err := lockPort(l0.file.Name()[:strings.LastIndex(l0.file.Name(), "/")], l0.Port)
	must(t, err)
	if again != nil {
		t.Fatal("leased a held port")
	}
	l0.release()
	again, err = lockPort(l0.path[:strings.LastIndex(l0.path, "/")], l0.Port)
	must(t, err)
	if again == nil {
		t.Fatal("could not lease a released port")
	}
	again.release()
}
