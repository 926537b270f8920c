package failover

import "testing"

func TestRepointConninfo(t *testing.T) {
	for _, tc := range []struct{ in, want string }{
		{"host=127.0.0.1 port=5433 user=repl password=s3cret application_name=r1",
			"host='10.0.0.2' port='6000' user='repl' password='s3cret' application_name='r1'"},
		{`user = 'repl' password='it\'s' hostaddr=1.2.3.4 port=1`,
			`host='10.0.0.2' port='6000' user='repl' password='it\'s'`},
		{`password='a\'b c' host=x`, `host='10.0.0.2' port='6000' password='a\'b c'`},
		{"postgresql://repl:pw@old:5433/?application_name=r1&hostaddr=1.2.3.4",
			"postgresql://repl:pw@10.0.0.2:6000/?application_name=r1"},
	} {
		got, err := repointConninfo(tc.in, "10.0.0.2", 6000)
		if err != nil {
			t.Errorf("%q: %v", tc.in, err)
			continue
		}
		if got != tc.want {
			t.Errorf("%q:\n got %s\nwant %s", tc.in, got, tc.want)
		}
	}
	// A new primary on a Unix socket: the folder is libpq's host.
	for in, want := range map[string]string{
		"host=127.0.0.1 port=5433 user=repl":                 "host='/run/pg' port='6000' user='repl'",
		"postgresql://repl:pw@old:5433/?application_name=r1": "postgresql://repl:pw@/?application_name=r1&host=%2Frun%2Fpg&port=6000",
	} {
		if got, err := repointConninfo(in, "/run/pg", 6000); err != nil || got != want {
			t.Errorf("%q to a socket:\n got %s (%v)\nwant %s", in, got, err, want)
		}
	}
	for _, bad := range []string{"host", "password='open"} {
		if _, err := repointConninfo(bad, "h", 1); err == nil {
			t.Errorf("%q: no error", bad)
		}
	}
}
