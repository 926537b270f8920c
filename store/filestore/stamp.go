package filestore

import (
	"os"
	"syscall"
	"time"
)

// fileStamp is what a stat says of a record file: a write (rename of a new
// file, or an edit in place) changes at least one of them, except that a
// write within the same tick of the file system's clock can keep the
// modification time, and a new file can reuse a freed inode and have the
// same size. settled covers that case.
type fileStamp struct {
	size  int64
	mtime int64 // ns since 1970
	ino   uint64
	dev   uint64
}

// statFile stamps the file at path; ok is false if it cannot be stat'ed.
func statFile(path string) (st fileStamp, ok bool) {
	fi, err := os.Stat(path)
	if err != nil {
		return fileStamp{}, false
	}
	st = fileStamp{size: fi.Size(), mtime: fi.ModTime().UnixNano()}
	if sys, ok := fi.Sys().(*syscall.Stat_t); ok {
		st.ino, st.dev = uint64(sys.Ino), uint64(sys.Dev) //nolint:unconvert // int32 on some systems
	}
	return st, true
}

// racyWindow bounds the granularity of file modification times (2 s on
// FAT; a few ms or less on the usual Linux file systems).
const racyWindow = 2 * time.Second

// settled reports whether a file with stamp st, read at readAt, would show
// a later write in its stamp: the read came a full window after the
// modification time, so a later write gets a later one. Until then a write
// in the same clock tick with the same size could go unseen, and the file
// is read again (as git treats "racily clean" index entries).
func (st fileStamp) settled(readAt time.Time) bool {
	return !readAt.IsZero() && readAt.Sub(time.Unix(0, st.mtime)) >= racyWindow
}
