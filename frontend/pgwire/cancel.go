package pgwire

import (
	"crypto/rand"
	"crypto/subtle"
	"encoding/binary"
	"errors"
	"net"
)

// cancelRequest is a CancelRequest: the BackendKeyData of the client whose
// running statement is to be cancelled.
type cancelRequest struct {
	pid    uint32
	secret []byte
}

// maxCancelSecret is the longest secret key of protocol 3.2; we issue
// 4-byte keys (3.0), so a longer one never matches, but is not a protocol
// error either.
const maxCancelSecret = 256

// parseCancelRequest parses a CancelRequest body (after the length):
// code, process ID, secret key.
func parseCancelRequest(body []byte) (cancelRequest, error) {
	if len(body) < 12 || len(body) > 8+maxCancelSecret {
		return cancelRequest{}, errors.New("invalid length of cancel request packet")
	}
	return cancelRequest{pid: binary.BigEndian.Uint32(body[4:]), secret: body[8:]}, nil
}

// register gives c a process ID unique among live clients and a secret key,
// both random (crypto/rand), and makes it reachable by cancel requests.
// Process IDs stay in 1..2^31-1: drivers in languages without unsigned
// integers keep them as int32.
func (s *Server) register(c *ClientConn) {
	s.mu.Lock()
	defer s.mu.Unlock()
	for {
		var b [8]byte
		rand.Read(b[:]) // never fails (crypto/rand since Go 1.24)
		pid := binary.BigEndian.Uint32(b[:4]) & 0x7fffffff
		if pid == 0 || s.keys[pid] != nil {
			continue
		}
		c.pid, c.ProcessID = pid, pid
		copy(c.secret[:], b[4:])
		c.SecretKey = binary.BigEndian.Uint32(b[4:])
		s.keys[pid] = c
		return
	}
}

func (s *Server) unregister(c *ClientConn) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.keys[c.pid] == c {
		delete(s.keys, c.pid)
	}
}

// cancel handles a CancelRequest as Postgres does: the key must name a live
// client, the secret compared in constant time; then that client's
// canceler runs, if it registered one. Nothing is answered either way, so
// a client learns nothing about other clients' keys.
//
// There is no rate limit: guessing a key means guessing a live 31-bit
// process ID and its 32-bit secret together, and cancel requests share the
// bounded slots of connections in startup (see Options.MaxClientConns).
func (s *Server) cancel(req cancelRequest, remote net.Addr) {
	info := CancelInfo{RemoteAddr: remote, ProcessID: req.pid}
	s.mu.Lock()
	c := s.keys[req.pid]
	s.mu.Unlock()
	if c != nil && len(req.secret) == len(c.secret) && subtle.ConstantTimeCompare(req.secret, c.secret[:]) == 1 {
		info.Matched = true
		if f := c.currentCanceler(); f != nil {
			info.Delivered = true
			// This goroutine is itself counted in s.wg, so Add cannot race
			// with Shutdown's Wait.
			s.wg.Add(1)
			go s.runCanceler(f)
		}
	}
	s.opts.Listener.CancelRequest(info)
}

func (s *Server) runCanceler(f func()) {
	defer s.wg.Done()
	f()
}
