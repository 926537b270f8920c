package filestore

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"time"

	"github.com/goccy/go-yaml"
	"golang.org/x/sys/unix"

	"github.com/shardgate/shardgate/store"
)

// Store is a folder of record files. It is safe for concurrent use by
// goroutines and processes.
type Store struct {
	dir  string
	poll time.Duration
}

// Options tune a Store.
type Options struct {
	// PollInterval is how often Watch looks for changes (default 250ms).
	PollInterval time.Duration
}

// Open opens the store in dir. The folder is created by the first write,
// so opening a store (to read it, or before a failed start) leaves nothing
// behind.
func Open(dir string, opts Options) (*Store, error) {
	if dir == "" {
		return nil, errors.New("filestore: no folder given")
	}
	if fi, err := os.Stat(dir); err == nil && !fi.IsDir() {
		return nil, fmt.Errorf("filestore: %s is not a folder", dir)
	}
	if opts.PollInterval <= 0 {
		opts.PollInterval = 250 * time.Millisecond
	}
	return &Store{dir: dir, poll: opts.PollInterval}, nil
}

// Dir is the store's folder.
func (s *Store) Dir() string { return s.dir }

// file is the on-disk form of a record.
type file struct {
	Key     string          `yaml:"key"`
	Version uint64          `yaml:"version"`
	Value   yaml.RawMessage `yaml:"value"`
}

const header = "# shardgate store record: written by shardgate with compare-and-swap.\n# Do not edit while proxies run; use the shardgate CLI.\n"

func (s *Store) path(key string) string { return filepath.Join(s.dir, filepath.FromSlash(key)+".yaml") }

// Get implements store.Records.
func (s *Store) Get(_ context.Context, key string) (store.Record, error) {
	if err := store.CheckKey(key); err != nil {
		return store.Record{}, err
	}
	return s.read(key)
}

func (s *Store) read(key string) (store.Record, error) {
	data, err := s.readRaw(key)
	if err != nil {
		return store.Record{}, err
	}
	return s.decode(key, data)
}

// readRaw reads key's file as it is on disk.
func (s *Store) readRaw(key string) ([]byte, error) {
	data, err := os.ReadFile(s.path(key))
	if errors.Is(err, fs.ErrNotExist) {
		return nil, store.ErrNotFound
	}
	if err != nil {
		return nil, fmt.Errorf("filestore: %w", err)
	}
	return data, nil
}

// decode parses the file of key.
func (s *Store) decode(key string, data []byte) (store.Record, error) {
	var f file
	if err := yaml.Unmarshal(data, &f); err != nil {
		return store.Record{}, fmt.Errorf("filestore: %s: %w", s.path(key), err)
	}
	if f.Key != key || f.Version == 0 {
		return store.Record{}, fmt.Errorf("filestore: %s: holds key %q version %d, want key %q", s.path(key), f.Key, f.Version, key)
	}
	return store.Record{Key: key, Version: f.Version, Value: []byte(f.Value)}, nil
}

// CompareAndSwap implements store.Records.
func (s *Store) CompareAndSwap(_ context.Context, key string, version uint64, value []byte) (store.Record, error) {
	if err := store.CheckKey(key); err != nil {
		return store.Record{}, err
	}
	unlock, err := s.lock()
	if err != nil {
		return store.Record{}, err
	}
	defer unlock()
	cur, err := s.read(key)
	switch {
	case errors.Is(err, store.ErrNotFound):
		cur = store.Record{}
	case err != nil:
		return store.Record{}, err
	}
	if cur.Version != version {
		return store.Record{}, fmt.Errorf("%w: %s is at version %d, not %d", store.ErrVersionConflict, key, cur.Version, version)
	}
	next := store.Record{Key: key, Version: version + 1, Value: append([]byte(nil), value...)}
	body, err := yaml.Marshal(file{Key: key, Version: next.Version, Value: yaml.RawMessage(value)})
	if err != nil {
		return store.Record{}, fmt.Errorf("filestore: encode %s: %w", key, err)
	}
	if err := writeAtomic(s.path(key), append([]byte(header), body...)); err != nil {
		return store.Record{}, err
	}
	return next, nil
}

// lock takes the store-wide exclusive lock.
func (s *Store) lock() (func(), error) {
	if err := os.MkdirAll(s.dir, 0o700); err != nil {
		return nil, fmt.Errorf("filestore: %w", err)
	}
	f, err := os.OpenFile(filepath.Join(s.dir, ".lock"), os.O_CREATE|os.O_RDWR, 0o600)
	if err != nil {
		return nil, fmt.Errorf("filestore: %w", err)
	}
	if err := unix.Flock(int(f.Fd()), unix.LOCK_EX); err != nil {
		f.Close()
		return nil, fmt.Errorf("filestore: lock: %w", err)
	}
	return func() {
		_ = unix.Flock(int(f.Fd()), unix.LOCK_UN)
		f.Close()
	}, nil
}

func writeAtomic(path string, data []byte) error {
	dir := filepath.Dir(path)
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return fmt.Errorf("filestore: %w", err)
	}
	tmp, err := os.CreateTemp(dir, ".tmp-*")
	if err != nil {
		return fmt.Errorf("filestore: %w", err)
	}
	defer os.Remove(tmp.Name()) // no-op after a successful rename
	if _, err := tmp.Write(data); err != nil {
		tmp.Close()
		return fmt.Errorf("filestore: %w", err)
	}
	if err := tmp.Sync(); err != nil {
		tmp.Close()
		return fmt.Errorf("filestore: %w", err)
	}
	if err := tmp.Close(); err != nil {
		return fmt.Errorf("filestore: %w", err)
	}
	if err := os.Rename(tmp.Name(), path); err != nil {
		return fmt.Errorf("filestore: %w", err)
	}
	d, err := os.Open(dir)
	if err != nil {
		return fmt.Errorf("filestore: %w", err)
	}
	defer d.Close()
	if err := d.Sync(); err != nil {
		return fmt.Errorf("filestore: sync folder: %w", err)
	}
	return nil
}

// Watch implements store.Records by polling. Each poll looks at the file's
// identity first (fileStamp) and reads it only when that changed, or
// while its modification time is too recent to tell a later write apart;
// the YAML is parsed only when the bytes differ from the last ones. The
// goroutine it starts ends when ctx does, after closing the channel.
func (s *Store) Watch(ctx context.Context, key string) (<-chan store.Record, error) {
	if err := store.CheckKey(key); err != nil {
		return nil, err
	}
	ch := make(chan store.Record, 1)
	go func() {
		defer close(ch)
		var seen uint64
		var last, lastData []byte
		var stamp fileStamp // of the file lastData was read from
		var readAt time.Time
		path := s.path(key)
		t := time.NewTicker(s.poll)
		defer t.Stop()
		for {
			if cur, ok := statFile(path); !ok || cur != stamp || !stamp.settled(readAt) {
				at := time.Now() // before the read: the bytes are at least this new
				data, err := s.readRaw(key)
				switch {
				case err != nil:
					// Retried at the next poll.
					stamp = fileStamp{}
				case !bytes.Equal(data, lastData):
					// The same bytes parse the same: only new ones are
					// decoded. A changed version, or a file replaced by
					// hand with the same version, is news.
					lastData = data
					if rec, err := s.decode(key, data); err == nil && (rec.Version != seen || !bytes.Equal(rec.Value, last)) {
						seen, last = rec.Version, rec.Value
						select {
						case <-ch: // drop an unread older version: newest wins
						default:
						}
						ch <- rec
					}
					fallthrough
				default:
					// The stamp was taken before the read: if the file
					// was replaced in between, the next poll sees a new
					// one.
					stamp, readAt = cur, at
				}
			}
			select {
			case <-ctx.Done():
				return
			case <-t.C:
			}
		}
	}()
	return ch, nil
}
