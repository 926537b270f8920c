package pgwire

import "iter"

// portalSet is the session's bound portals by name. The unnamed portal,
// which most drivers bind once per transaction and every ReadyForQuery
// outside a transaction clears, has a slot of its own: in the map it cost
// an insert and a delete per transaction.
type portalSet struct {
	unnamed *portal // nil: no unnamed portal
	named   map[string]*portal
}

func (ps *portalSet) get(name string) (*portal, bool) {
	if name == "" {
		return ps.unnamed, ps.unnamed != nil
	}
	p, ok := ps.named[name]
	return p, ok
}

// put binds name to p (p is not nil), replacing the portal of that name.
func (ps *portalSet) put(name string, p *portal) {
	if name == "" {
		ps.unnamed = p
		return
	}
	if ps.named == nil {
		ps.named = make(map[string]*portal)
	}
	ps.named[name] = p
}

func (ps *portalSet) remove(name string) {
	if name == "" {
		ps.unnamed = nil
		return
	}
	delete(ps.named, name)
}

// all yields every portal, the unnamed one first. The loop may remove
// portals, as it may delete from a map it ranges over.
func (ps *portalSet) all() iter.Seq2[string, *portal] {
	return func(yield func(string, *portal) bool) {
		if p := ps.unnamed; p != nil {
			if !yield("", p) {
				return
			}
		}
		for name, p := range ps.named {
			if !yield(name, p) {
				return
			}
		}
	}
}
