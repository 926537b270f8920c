package config

import (
	"strconv"
	"time"
)

// ReadRule overrides the replica-read defaults for the sessions of one
// user, one database, or both. The first rule that matches a session
// wins; a zero field keeps the default of the replicas section.
type ReadRule struct {
	User        string        `yaml:"user,omitempty"`
	Database    string        `yaml:"database,omitempty"`
	Read        ReadPolicy    `yaml:"read,omitempty"`
	MaxLag      time.Duration `yaml:"max_lag,omitempty"`
	WhenLagging LagPolicy     `yaml:"when_lagging,omitempty"`
}

// ReadFor returns the replica-read settings of a session of user on
// database: the defaults, with the first matching rule's fields over them.
func (r *Replicas) ReadFor(user, database string) Replicas {
	out := *r
	for _, rule := range r.Rules {
		if (rule.User != "" && rule.User != user) || (rule.Database != "" && rule.Database != database) {
			continue
		}
		if rule.Read != "" {
			out.Read = rule.Read
		}
		if rule.MaxLag != 0 {
			out.MaxLag = rule.MaxLag
		}
		if rule.WhenLagging != "" {
			out.WhenLagging = rule.WhenLagging
		}
		break
	}
	return out
}

func (r *Replicas) validateRules(p *problems) {
	for i, rule := range r.Rules {
		path := "replicas.rules[" + strconv.Itoa(i) + "]"
		if rule.User == "" && rule.Database == "" {
			p.add(path, "name a user, a database, or both")
		}
		if rule.Read != "" {
			oneOf(p, path+".read", rule.Read, ReadPrimary, ReadReplicas, ReadReplicasPreferred)
		}
		if rule.WhenLagging != "" {
			oneOf(p, path+".when_lagging", rule.WhenLagging, LagUsePrimary, LagError, LagWait)
		}
		if rule.MaxLag < 0 {
			p.add(path+".max_lag", "must not be negative, got %s", rule.MaxLag)
		}
	}
}
