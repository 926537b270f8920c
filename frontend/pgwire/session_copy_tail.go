package pgwire

import (
	"bytes"
	"sync"

	"github.com/shardgate/shardgate/internal/pgio"
)

// serverTail reads a server connection's messages in its own goroutine
// while the session writes COPY data to it: a server that writes during
// the COPY (a notice per row from a trigger) must never block on the
// proxy while the proxy is blocked writing to it. The goroutine ends after
// ReadyForQuery or a read error; the copier waits for it (done) before the
// connection is used or closed again.
type serverTail struct {
	mu      sync.Mutex
	msgs    []serverMsg
	head    int
	notices int // bytes of notices waiting
	dropped int
	wake    chan struct{}
	done    chan struct{}
}

type serverMsg struct {
	typ  byte
	body []byte
	err  error
}

func startServerTail(r *pgio.Reader) *serverTail {
	t := &serverTail{wake: make(chan struct{}, 1), done: make(chan struct{})}
	go t.run(r)
	return t
}

func (t *serverTail) run(r *pgio.Reader) {
	defer close(t.done)
	for {
		typ, body, err := r.ReadMessage()
		m := serverMsg{typ: typ, err: err}
		if err == nil {
			m.body = bytes.Clone(body)
		}
		t.mu.Lock()
		switch {
		case err == nil && typ == pgio.TypeNoticeResponse && t.notices+len(body) > maxTailNotices:
			t.dropped++
		default:
			if err == nil && typ == pgio.TypeNoticeResponse {
				t.notices += len(body)
			}
			t.msgs = append(t.msgs, m)
		}
		t.mu.Unlock()
		select {
		case t.wake <- struct{}{}:
		default:
		}
		if err != nil || typ == pgio.TypeReadyForQuery {
			return
		}
	}
}

// poll returns the next message, if one is waiting.
func (t *serverTail) poll() (serverMsg, bool) {
	t.mu.Lock()
	defer t.mu.Unlock()
	if t.head == len(t.msgs) {
		return serverMsg{}, false
	}
	m := t.msgs[t.head]
	t.msgs[t.head] = serverMsg{}
	t.head++
	if t.head == len(t.msgs) {
		t.msgs, t.head = t.msgs[:0], 0
	}
	if m.err == nil && m.typ == pgio.TypeNoticeResponse {
		t.notices -= len(m.body)
	}
	return m, true
}

// next waits for the next message. The last one is ReadyForQuery or an
// error: next must not be called after it.
func (t *serverTail) next() serverMsg {
	for {
		if m, ok := t.poll(); ok {
			return m
		}
		<-t.wake
	}
}
