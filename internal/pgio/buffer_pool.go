package pgio

import "sync"

// BufferPool recycles the default-sized buffers of Readers and Writers, so
// that sessions whose buffers were taken while they sat idle (Release)
// take a recently used one when they wake up instead of allocating. It
// keeps at most a bounded number of free buffers, most
// recently returned first; the rest go to the garbage collector, so that
// thousands of idle sessions hold no buffer memory. Its owner (typically a
// server) creates one and hands it to every Reader and Writer it makes;
// buffers of any other size are never pooled. A BufferPool is safe for
// concurrent use.
type BufferPool struct {
	size int
	keep int
	mu   sync.Mutex
	free [][]byte // cap == size, most recently returned last
}

// DefaultPoolKeep is how many free buffers a BufferPool keeps.
const DefaultPoolKeep = 256

// NewBufferPool returns a pool of buffers of size bytes (DefaultBufferSize
// if size <= 0) that keeps up to DefaultPoolKeep of them free.
func NewBufferPool(size int) *BufferPool {
	if size <= 0 {
		size = DefaultBufferSize
	}
	return &BufferPool{size: size, keep: DefaultPoolKeep}
}

// Size is the size of the pool's buffers.
func (p *BufferPool) Size() int { return p.size }

// get returns a buffer of cap p.size and length 0.
func (p *BufferPool) get() []byte {
	p.mu.Lock()
	if n := len(p.free); n > 0 {
		b := p.free[n-1]
		p.free[n-1] = nil
		p.free = p.free[:n-1]
		p.mu.Unlock()
		return b
	}
	p.mu.Unlock()
	return make([]byte, 0, p.size)
}

// put takes back a buffer get handed out, unless the pool holds enough.
func (p *BufferPool) put(b []byte) {
	if cap(b) != p.size {
		return
	}
	p.mu.Lock()
	if len(p.free) < p.keep {
		p.free = append(p.free, b[:0])
	}
	p.mu.Unlock()
}
