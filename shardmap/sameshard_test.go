package shardmap

import "testing"

// SameShard follows a shard into a new map version only while it is the
// same shard on the same primary.
func TestSameShard(t *testing.T) {
	v1, err := Compile(1, demoSpec())
	if err != nil {
		t.Fatal(err)
	}
	ks, _ := v1.Keyspace(Postgres, "app")
	old := ks.Shards()[1]
	compile := func(edit func(*MapSpec)) *Snapshot {
		t.Helper()
		spec := demoSpec()
		edit(&spec)
		s, err := Compile(2, spec)
		if err != nil {
			t.Fatal(err)
		}
		return s
	}
	same := compile(func(*MapSpec) {})
	if sh, ok := same.SameShard(Postgres, "app", old); !ok || sh == old || sh.Name != old.Name {
		t.Errorf("an identical new version: %v %v, want its own shard %s", sh, ok, old.Name)
	}
	for name, edit := range map[string]func(*MapSpec){
		"another primary": func(s *MapSpec) { s.Keyspaces[0].Shards[1].Primary = node("pg1new", 5505) },
		"another range": func(s *MapSpec) {
			s.Keyspaces[0].Shards[0].KeyRange, s.Keyspaces[0].Shards[1].KeyRange = "-40", "40-"
		},
		"another database": func(s *MapSpec) { s.Keyspaces[0].Database = "other" },
	} {
		if sh, ok := compile(edit).SameShard(Postgres, "app", old); ok {
			t.Errorf("%s: followed to %v", name, sh)
		}
	}
	if _, ok := same.SameShard(Postgres, "nope", old); ok {
		t.Error("an unknown keyspace: followed")
	}
	if _, ok := same.SameShard(MySQL, "app", old); ok {
		t.Error("another engine's keyspace of the same name: followed")
	}
}
