package config

import "sync/atomic"

// Current holds the config in force. A reload builds and validates a new
// Config and Stores it whole; readers Load it once per unit of work and use
// that value throughout, so they never see half of a reload.
type Current struct{ p atomic.Pointer[Config] }

// NewCurrent returns a Current holding c.
func NewCurrent(c *Config) *Current {
	cur := &Current{}
	cur.p.Store(c)
	return cur
}

// Load returns the config in force.
func (c *Current) Load() *Config { return c.p.Load() }

// Store puts cfg in force. cfg must be a validated config that nobody will
// change any more.
func (c *Current) Store(cfg *Config) { c.p.Store(cfg) }
