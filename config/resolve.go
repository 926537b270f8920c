package config

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"
)

// resolve does the loading steps that touch the environment, after
// validation: relative paths are anchored at dir, backend passwords are read
// from their files or environment variables, and ProxyID gets its default.
// Problems go to p, warnings to c.warnings.
func (c *Config) resolve(p *problems, dir string) {
	if dir != "" {
		c.anchorPaths(dir)
	}
	for _, b := range []struct {
		path string
		b    *Backend
	}{{"backends.postgres", c.Backends.Postgres}, {"backends.mysql", c.Backends.MySQL}} {
		if b.b == nil {
			continue
		}
		b.b.Password = c.readSecret(p, b.path+".password", b.b.PasswordFile, b.b.PasswordEnv)
		b.b.ControlPassword = c.readSecret(p, b.path+".control_password", b.b.ControlPasswordFile, b.b.ControlPasswordEnv)
	}
	if c.ProxyID == "" {
		c.ProxyID = defaultProxyID()
	}
}

func (c *Config) anchorPaths(dir string) {
	anchor := func(p *string) {
		if *p != "" && !filepath.IsAbs(*p) {
			*p = filepath.Join(dir, *p)
		}
	}
	for _, l := range []*Listener{c.Listeners.Postgres, c.Listeners.MySQL} {
		if l != nil {
			anchor(&l.TLS.CertFile)
			anchor(&l.TLS.KeyFile)
		}
	}
	for _, b := range []*Backend{c.Backends.Postgres, c.Backends.MySQL} {
		if b != nil {
			anchor(&b.PasswordFile)
			anchor(&b.ControlPasswordFile)
			anchor(&b.TLS.CAFile)
		}
	}
	if c.Store.Type == StoreFile {
		anchor(&c.Store.Path)
	}
}

// readSecret resolves one password source; with none it returns an unset
// Secret. A password file may be read by its owner and group; one that
// others can read is loaded with a warning, not refused, because container
// secret mounts are world-readable by default.
func (c *Config) readSecret(p *problems, path, file, env string) Secret {
	switch {
	case file != "" && env != "":
		return Secret{} // Validate reported it
	case file != "":
		info, err := os.Stat(file)
		if err != nil {
			p.addErr(path+"_file", err)
			return Secret{}
		}
		if !info.Mode().IsRegular() {
			p.add(path+"_file", "%s is not a regular file", file)
			return Secret{}
		}
		if info.Mode().Perm()&0o007 != 0 {
			c.warnings = append(c.warnings, fmt.Sprintf("%s_file: %s is accessible to every user (mode %v); chmod o-rwx it", path, file, info.Mode().Perm()))
		}
		b, err := os.ReadFile(file)
		if err != nil {
			p.addErr(path+"_file", err)
			return Secret{}
		}
		s := strings.TrimRight(string(b), "\r\n")
		if s == "" {
			p.add(path+"_file", "%s is empty", file)
			return Secret{}
		}
		return NewSecret(s)
	case env != "":
		s, ok := os.LookupEnv(env)
		if !ok {
			p.add(path+"_env", "environment variable %s is not set", env)
			return Secret{}
		}
		if s == "" {
			p.add(path+"_env", "environment variable %s is empty", env)
			return Secret{}
		}
		return NewSecret(s)
	}
	return Secret{}
}
