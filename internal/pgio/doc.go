// Package pgio owns the framing of the Postgres wire protocol (version 3.0)
// in both directions: reading whole messages into a reusable buffer,
// writing them through a buffered writer, and decoding and encoding the
// messages the proxy itself has to look into or produce.
//
// It is built for a relay loop that moves every message of a session
// through one goroutine: in steady state neither Reader.ReadMessage nor
// Writer.WriteRaw allocates, decoded messages are views into the read
// buffer (valid until the next read), and Reader.Buffered lets the loop
// flush only when nothing more is already waiting (pipelining). Buffers
// grow for large messages up to a configured maximum and can be given back
// with Release when a session goes idle.
//
// What a message means to a session (routing, pooling, authentication) is
// not pgio's business: the front end (frontend/pgwire) and the server
// connections (backend) decide that.
//
// pgio imports only the standard library and internal/sqlerr (decoders
// report malformed messages as 08P01 errors); the rarer messages are
// written from pgx's pgproto3 types through the Encoder interface. It
// never imports another shardgate package and does no networking of its
// own: it reads from an io.Reader and writes to an io.Writer.
package pgio
