package mysqlwire

import (
	"slices"
	"testing"
	"time"

	vmysql "vitess.io/vitess/go/mysql"

	"github.com/shardgate/shardgate/router"
)

// someReplicas turns replica reads on; routing never calls it here.
type someReplicas struct{ ReplicaReads }

// TestReadSettingsAcrossUse: a read setting the session SET stays when USE
// brings another database's defaults; the others are that database's.
func TestReadSettingsAcrossUse(t *testing.T) {
	defaults := map[string]ReadSettings{
		"a": {Read: router.ReadReplicas, MaxLag: time.Second, ReadYourWrites: true, WaitTimeout: time.Second, PrimaryWeight: 1},
		"b": {Read: router.ReadPrimary, MaxLag: 5 * time.Second, WaitTimeout: 2 * time.Second},
	}
	ss := &session{
		s: &Server{o: Options{Replicas: someReplicas{}, ReadSettings: func(_, db string) ReadSettings { return defaults[db] }}},
		c: &vmysql.Conn{User: "app"},
	}
	use := func(db string) {
		ss.rs.Keyspace = db
		ss.readDefaults()
	}
	check := func(step string, want ReadSettings) {
		t.Helper()
		if ss.read != want {
			t.Errorf("%s: %+v, want %+v", step, ss.read, want)
		}
		if ss.rs.Read != want.Read || ss.rs.MaxLag != want.MaxLag {
			t.Errorf("%s: routing sees %v/%v, want %v/%v", step, ss.rs.Read, ss.rs.MaxLag, want.Read, want.MaxLag)
		}
	}
	use("a")
	check("database a", defaults["a"])
	if err := ss.setShardgate("shardgate.max_lag", "2s"); err != nil {
		t.Fatal(err)
	}
	use("b")
	want := defaults["b"]
	want.MaxLag = 2 * time.Second
	check("USE b after SET shardgate.max_lag = '2s'", want)
	if err := ss.setShardgate("shardgate.read", "replicas_preferred"); err != nil {
		t.Fatal(err)
	}
	if err := ss.setShardgate("shardgate.max_lag", "default"); err != nil {
		t.Fatal(err)
	}
	use("a")
	want = defaults["a"]
	want.Read = router.ReadReplicasPreferred
	check("USE a after SET shardgate.read = replicas_preferred, shardgate.max_lag = default", want)
	if err := ss.setShardgate("shardgate.read", "default"); err != nil {
		t.Fatal(err)
	}
	use("b")
	check("USE b with every setting at its default", defaults["b"])
}

// record keeps the replay list as short as the session's state allows: a
// later SET of a variable replaces the earlier one (also written
// @@session.x), an identical optimizer_switch SET replaces its twin, and
// SETs whose value builds on the old one stay, in order.
func TestRecordReplacesWhatItCan(t *testing.T) {
	ss := &session{}
	for _, q := range []string{
		"SET @@session.time_zone = '+01:00'", "SET @@session.time_zone = '+02:00'",
		"SET optimizer_switch = 'mrr=on'", "SET optimizer_switch = 'index_merge=off'", "SET optimizer_switch = 'mrr=on'",
		"SET sort_buffer_size = @@sort_buffer_size * 2", "SET sort_buffer_size = @@sort_buffer_size * 2",
	} {
		ss.record(q)
	}
	want := []string{
		"SET @@session.time_zone = '+02:00'",
		"SET optimizer_switch = 'index_merge=off'", "SET optimizer_switch = 'mrr=on'",
		"SET sort_buffer_size = @@sort_buffer_size * 2", "SET sort_buffer_size = @@sort_buffer_size * 2",
	}
	if !slices.Equal(ss.settings, want) {
		t.Errorf("settings %q\nwant %q", ss.settings, want)
	}
}
