// Package filestore keeps store records as YAML files in a folder, for a
// single proxy (or a proxy and the CLI on one host). Each record is one file,
// <dir>/<key>.yaml, replaced atomically (write a temporary file, fsync,
// rename, fsync the folder). Compare-and-swap holds an exclusive flock on
// <dir>/.lock, so concurrent writers in any process serialise. Watch polls:
// a stat each time, a read only when the file may have changed, a parse
// only when its bytes did.
//
// filestore imports only store from shardgate.
package filestore
