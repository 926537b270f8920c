package pgio

import "sync"

// BufferPool recycles the default-sized buffers of Readers and Writers, so
// that many sessions that go idle and wake up again do not each allocate
// fresh buffers. Its owner (typically a server) creates one and hands it to
// every Reader and Writer it makes; buffers of any other size are never
// pooled. A BufferPool is safe for concurrent use.
type BufferPool struct {
	size int
	p    sync.Pool // of *[]byte with cap == size
}

// NewBufferPool returns a pool of buffers of size bytes (DefaultBufferSize
// if size <= 0).
func NewBufferPool(size int) *BufferPool {
	if size <= 0 {
		size = DefaultBufferSize
	}
	return &BufferPool{size: size}
}

// Size is the size of the pool's buffers.
func (p *BufferPool) Size() int { return p.size }

// get returns a buffer of cap p.size and length 0 together with the box
// that carries it through the sync.Pool, which the caller keeps for put:
// boxing a slice anew on every put would allocate.
func (p *BufferPool) get() (*[]byte, []byte) {
	if v, ok := p.p.Get().(*[]byte); ok {
		return v, (*v)[:0]
	}
	b := make([]byte, 0, p.size)
	return &b, b
}

func (p *BufferPool) put(box *[]byte, b []byte) {
	if box == nil || cap(b) != p.size {
		return
	}
	*box = b[:0]
	p.p.Put(box)
}
