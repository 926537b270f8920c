package config

import "fmt"

// Backends say how the proxy logs into the database servers, per engine. A
// backend is required for each enabled SQL listener.
type Backends struct {
	Postgres *Backend `yaml:"postgres,omitempty"`
	MySQL    *Backend `yaml:"mysql,omitempty"`
}

// Backend is the proxy's login on one engine's servers. Passwords are never
// written inline: each comes from a file (read at load; trailing CR/LF
// trimmed) or an environment variable, named by exactly one of *_file and
// *_env. A backend without a password source logs in without one (the
// servers must trust the proxy).
//
// The control user runs the proxy's own work: heartbeats, replica probes,
// two-phase-commit resolution and resharding (which needs replication
// privileges). It defaults to User with User's password; a ControlUser
// without a control password source logs in without a password.
type Backend struct {
	User         string `yaml:"user"`
	PasswordFile string `yaml:"password_file,omitempty"`
	PasswordEnv  string `yaml:"password_env,omitempty"`

	ControlUser         string `yaml:"control_user,omitempty"`
	ControlPasswordFile string `yaml:"control_password_file,omitempty"`
	ControlPasswordEnv  string `yaml:"control_password_env,omitempty"`

	TLS BackendTLS `yaml:"tls,omitzero"`

	// Password and ControlPassword are resolved by Load and Parse; they are
	// never read from or written to YAML.
	Password        Secret `yaml:"-"`
	ControlPassword Secret `yaml:"-"`
}

// BackendTLSMode is libpq's sslmode vocabulary, used for both engines.
type BackendTLSMode string

const (
	BackendTLSDisable BackendTLSMode = "disable"
	// BackendTLSPrefer uses TLS when the server offers it, without
	// verifying the certificate (the default, as in libpq).
	BackendTLSPrefer  BackendTLSMode = "prefer"
	BackendTLSRequire BackendTLSMode = "require"
	// BackendTLSVerifyFull verifies the chain (against CAFile, or the system
	// roots) and the host name.
	BackendTLSVerifyFull BackendTLSMode = "verify-full"
)

func (m BackendTLSMode) String() string { return string(m) }

// BackendTLS is the TLS setting of the proxy's server connections.
type BackendTLS struct {
	Mode   BackendTLSMode `yaml:"mode,omitempty"`
	CAFile string         `yaml:"ca_file,omitempty"`
}

const inlinePasswordHint = "inline passwords are not allowed: put the password in a file and set %[1]s_file " +
	"(read at load, trailing newline trimmed, keep it chmod 600), or set %[1]s_env to the name of an environment variable holding it"

func (Backend) refusedKey(key string) (string, bool) {
	switch key {
	case "password", "control_password":
		return fmt.Sprintf(inlinePasswordHint, key), true
	}
	return "", false
}

func (b *Backend) ensureDefaults() {
	if b.TLS.Mode == "" {
		b.TLS.Mode = BackendTLSPrefer
	}
}

func (b *Backend) validate(p *problems, path string) {
	if b.User == "" {
		p.add(path+".user", "missing")
	}
	if b.PasswordFile != "" && b.PasswordEnv != "" {
		p.add(path+".password_env", "set only one of password_file and password_env")
	}
	controlSource := b.ControlPasswordFile != "" || b.ControlPasswordEnv != ""
	if b.ControlPasswordFile != "" && b.ControlPasswordEnv != "" {
		p.add(path+".control_password_env", "set only one of control_password_file and control_password_env")
	}
	if b.ControlUser == "" && controlSource {
		p.add(path+".control_user", "missing: control_password_file/control_password_env are for a separate control user")
	}
	oneOf(p, path+".tls.mode", b.TLS.Mode, BackendTLSDisable, BackendTLSPrefer, BackendTLSRequire, BackendTLSVerifyFull)
	if b.TLS.CAFile != "" && b.TLS.Mode != BackendTLSVerifyFull {
		p.add(path+".tls.ca_file", "is used only with mode verify-full (mode is %s, which does not verify certificates)", b.TLS.Mode)
	}
}

// EffectiveControlUser returns the control user and its password: the
// control user's when one is set, else the main user's.
func (b *Backend) EffectiveControlUser() (string, Secret) {
	if b.ControlUser == "" {
		return b.User, b.Password
	}
	return b.ControlUser, b.ControlPassword
}
