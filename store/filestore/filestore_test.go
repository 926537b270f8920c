package filestore

import (
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/shardgate/shardgate/store"
)

func open(t *testing.T, dir string) *Store {
	t.Helper()
	s, err := Open(dir, Options{PollInterval: 10 * time.Millisecond})
	if err != nil {
		t.Fatal(err)
	}
	return s
}

func TestCompareAndSwap(t *testing.T) {
	ctx := context.Background()
	s := open(t, t.TempDir())
	if _, err := s.Get(ctx, "map"); !errors.Is(err, store.ErrNotFound) {
		t.Fatalf("empty store: %v", err)
	}
	r1, err := s.CompareAndSwap(ctx, "map", 0, []byte("a: 1\n"))
	if err != nil || r1.Version != 1 {
		t.Fatalf("create: %v %+v", err, r1)
	}
	if _, err := s.CompareAndSwap(ctx, "map", 0, []byte("a: 2\n")); !errors.Is(err, store.ErrVersionConflict) {
		t.Fatalf("second create: %v", err)
	}
	r2, err := s.CompareAndSwap(ctx, "map", 1, []byte("a: 2\nb: [x, y]\n"))
	if err != nil || r2.Version != 2 {
		t.Fatalf("update: %v", err)
	}
	if _, err := s.CompareAndSwap(ctx, "map", 1, []byte("a: 3\n")); !errors.Is(err, store.ErrVersionConflict) {
		t.Fatalf("stale update: %v", err)
	}
	got, err := s.Get(ctx, "map")
	if err != nil || got.Version != 2 || !strings.Contains(string(got.Value), "b:") {
		t.Fatalf("get: %v %+v %q", err, got, got.Value)
	}
	// Namespaced keys become sub-folders; bad keys are refused.
	if _, err := s.CompareAndSwap(ctx, "workflows/split-1", 0, []byte("state: copy\n")); err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(filepath.Join(s.Dir(), "workflows", "split-1.yaml")); err != nil {
		t.Fatal(err)
	}
	for _, bad := range []string{"", "../x", "a//b", "A", ".lock", "a/.b", "a b"} {
		if _, err := s.CompareAndSwap(ctx, bad, 0, []byte("x: 1\n")); err == nil {
			t.Errorf("key %q accepted", bad)
		}
	}
	// No temporary files left behind.
	ents, _ := os.ReadDir(s.Dir())
	for _, e := range ents {
		if strings.HasPrefix(e.Name(), ".tmp") {
			t.Errorf("left %s", e.Name())
		}
	}
}

// increment reads the counter record and writes it back plus one, retrying
// on conflicts, n times.
func increment(ctx context.Context, s *Store, n int) error {
	for done := 0; done < n; {
		cur, err := s.Get(ctx, "counter")
		v := 0
		switch {
		case errors.Is(err, store.ErrNotFound):
		case err != nil:
			return err
		default:
			if v, err = strconv.Atoi(strings.TrimPrefix(strings.TrimSpace(string(cur.Value)), "n: ")); err != nil {
				return fmt.Errorf("value %q: %w", cur.Value, err)
			}
		}
		_, err = s.CompareAndSwap(ctx, "counter", cur.Version, []byte(fmt.Sprintf("n: %d\n", v+1)))
		if errors.Is(err, store.ErrVersionConflict) {
			continue
		}
		if err != nil {
			return err
		}
		done++
	}
	return nil
}

// Two writers (separate Store values, so separate lock files handles, and
// separate processes) increment one record: no update is lost.
func TestConcurrentWriters(t *testing.T) {
	ctx := context.Background()
	dir := t.TempDir()
	const n = 100
	var wg sync.WaitGroup
	errs := make(chan error, 3)
	for range 2 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			errs <- increment(ctx, open(t, dir), n)
		}()
	}
	// A third writer in another process.
	cmd := exec.Command(os.Args[0], "-test.run=^TestHelperProcessWriter$")
	cmd.Env = append(os.Environ(), "FILESTORE_HELPER_DIR="+dir, fmt.Sprintf("FILESTORE_HELPER_N=%d", n))
	out, err := cmd.CombinedOutput()
	if err != nil {
		t.Fatalf("helper process: %v\n%s", err, out)
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		if err != nil {
			t.Fatal(err)
		}
	}
	got, err := open(t, dir).Get(ctx, "counter")
	if err != nil {
		t.Fatal(err)
	}
	if want := fmt.Sprintf("n: %d", 3*n); strings.TrimSpace(string(got.Value)) != want || got.Version != 3*n {
		t.Fatalf("got %q at version %d, want %q at %d", got.Value, got.Version, want, 3*n)
	}
}

func TestHelperProcessWriter(t *testing.T) {
	dir := os.Getenv("FILESTORE_HELPER_DIR")
	if dir == "" {
		return // only runs as TestConcurrentWriters' child
	}
	n, _ := strconv.Atoi(os.Getenv("FILESTORE_HELPER_N"))
	if err := increment(context.Background(), open(t, dir), n); err != nil {
		t.Fatal(err)
	}
}

func TestWatch(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	s := open(t, t.TempDir())
	if _, err := s.CompareAndSwap(ctx, "map", 0, []byte("v: 1\n")); err != nil {
		t.Fatal(err)
	}
	ch, err := s.Watch(ctx, "map")
	if err != nil {
		t.Fatal(err)
	}
	next := func() store.Record {
		select {
		case r := <-ch:
			return r
		case <-time.After(5 * time.Second):
			t.Fatal("no record from Watch")
		}
		return store.Record{}
	}
	if r := next(); r.Version != 1 {
		t.Fatalf("first: %+v", r)
	}
	if _, err := s.CompareAndSwap(ctx, "map", 1, []byte("v: 2\n")); err != nil {
		t.Fatal(err)
	}
	if r := next(); r.Version != 2 || strings.TrimSpace(string(r.Value)) != "v: 2" {
		t.Fatalf("second: %+v", r)
	}
	cancel()
	deadline := time.After(5 * time.Second)
	for {
		select {
		case _, ok := <-ch:
			if !ok {
				return
			}
		case <-deadline:
			t.Fatal("Watch did not close its channel after cancel")
		}
	}
}

// watchNext returns the next record from ch.
func watchNext(t *testing.T, ch <-chan store.Record) store.Record {
	t.Helper()
	select {
	case r := <-ch:
		return r
	case <-time.After(5 * time.Second):
		t.Fatal("no record from Watch")
	}
	return store.Record{}
}

// Two changes written quickly, of the same size (and possibly within one
// tick of the file system's clock, into a reused inode): Watch still ends
// at the second.
func TestWatchQuickSameSizeChanges(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	s := open(t, t.TempDir())
	if _, err := s.CompareAndSwap(ctx, "map", 0, []byte("v: 1\n")); err != nil {
		t.Fatal(err)
	}
	ch, err := s.Watch(ctx, "map")
	if err != nil {
		t.Fatal(err)
	}
	if r := watchNext(t, ch); r.Version != 1 {
		t.Fatalf("first: %+v", r)
	}
	time.Sleep(30 * time.Millisecond) // the watcher has stamped the file
	for v := uint64(1); v < 3; v++ {
		if _, err := s.CompareAndSwap(ctx, "map", v, []byte(fmt.Sprintf("v: %d\n", v+1))); err != nil {
			t.Fatal(err)
		}
	}
	for r := watchNext(t, ch); r.Version != 3; r = watchNext(t, ch) {
		if r.Version != 2 {
			t.Fatalf("got %+v, want version 2 then 3", r)
		}
	}

	// An edit in place by hand (same inode), same size, the modification
	// time put back: only the recent modification time makes the watcher
	// read the file again.
	path := filepath.Join(s.Dir(), "map.yaml")
	fi, err := os.Stat(path)
	if err != nil {
		t.Fatal(err)
	}
	data, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	edited := strings.Replace(string(data), "v: 3", "v: 9", 1)
	if edited == string(data) {
		t.Fatalf("no value in %q", data)
	}
	time.Sleep(30 * time.Millisecond)
	if err := os.WriteFile(path, []byte(edited), 0o600); err != nil {
		t.Fatal(err)
	}
	if err := os.Chtimes(path, fi.ModTime(), fi.ModTime()); err != nil {
		t.Fatal(err)
	}
	if r := watchNext(t, ch); r.Version != 3 || strings.TrimSpace(string(r.Value)) != "v: 9" {
		t.Fatalf("after the edit in place: %+v %q", r, r.Value)
	}
}

// A file whose stamp is unchanged and settled is not read again.
func TestFileStampSettled(t *testing.T) {
	path := filepath.Join(t.TempDir(), "f.yaml")
	if err := os.WriteFile(path, []byte("a"), 0o600); err != nil {
		t.Fatal(err)
	}
	st, ok := statFile(path)
	if !ok {
		t.Fatal("stat failed")
	}
	if st.settled(time.Now()) {
		t.Error("a file written just now is settled")
	}
	old := time.Now().Add(-time.Hour)
	if err := os.Chtimes(path, old, old); err != nil {
		t.Fatal(err)
	}
	st2, _ := statFile(path)
	if st2 == st || !st2.settled(time.Now()) {
		t.Errorf("an hour-old file: stamp %+v (was %+v), settled %v", st2, st, st2.settled(time.Now()))
	}
	if err := os.WriteFile(path, []byte("b"), 0o600); err != nil { // same size, same inode
		t.Fatal(err)
	}
	if st3, _ := statFile(path); st3 == st2 {
		t.Error("a write now left the stamp of an hour-old file")
	}
}
