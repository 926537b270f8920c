package sandbox

import (
	"errors"
	"fmt"
	"regexp"
	"strings"
)

// Spec shapes a cluster. The zero Spec is one standalone primary with the
// database "app" and the user app/app.
type Spec struct {
	// Shards is the number of primaries, one per shard (default 1).
	Shards int
	// Replicas is the number of replicas per primary (default 0).
	Replicas int
	// Settings are extra server settings for every node: postgresql.conf
	// parameters for Postgres, mariadbd options (without the leading "--")
	// for MariaDB. They are applied after the sandbox's own defaults, so
	// they override them, except for the settings that place a node
	// (port, socket, data folder, server id, replication source), which
	// are refused.
	Settings map[string]string
	// Users are created on every primary with password authentication
	// (SCRAM-SHA-256 on Postgres, mysql_native_password as 'name'@'%' on
	// MariaDB) and reach the replicas by replication. Default: app/app.
	Users []User
	// Database is created on every primary and replicated (default "app").
	// On Postgres it is owned by the first user; every user may use it and
	// its public schema, including tables that another user or the admin
	// creates later.
	Database string
	// Dir is where the cluster lives. "" means a new folder under the
	// system temp folder that Stop removes. Otherwise Dir must be empty or
	// missing; it is created and left in place by Stop and by a failed start,
	// so that its logs can be read.
	Dir string
}

// User is a login created on every node.
type User struct {
	Name     string
	Password string
	// Superuser gives every privilege (Postgres SUPERUSER; MariaDB ALL
	// PRIVILEGES ON *.* WITH GRANT OPTION). On MariaDB that includes
	// writing on replicas despite read_only, which breaks replication: with
	// gtid_strict_mode the primary's next transaction is out of order there
	// ("An attempt was made to binlog GTID 0-1-7 which would create an
	// out-of-order sequence number"). Other users get all privileges on
	// Spec.Database and the read-only monitoring privileges (pg_monitor;
	// SLAVE MONITOR and BINLOG MONITOR), so a proxy can check replication
	// lag as them.
	Superuser bool
}

// replUser is the account replicas use to follow their primary.
const replUser = "sandbox_repl"

var identRE = regexp.MustCompile(`^[A-Za-z_][A-Za-z0-9_]{0,31}$`)

// reservedUsers are accounts the servers or the sandbox already own.
var reservedUsers = map[string]bool{
	replUser: true, "postgres": true, "root": true, "mysql": true, "public": true,
}

// placement are settings the sandbox decides per node.
var placement = map[Engine]map[string]bool{
	Postgres: {
		"port": true, "listen_addresses": true, "unix_socket_directories": true,
		"data_directory": true, "hba_file": true, "ident_file": true, "config_file": true,
		"primary_conninfo": true, "primary_slot_name": true, "include": true,
		"include_if_exists": true, "include_dir": true,
	},
	MariaDB: {
		"port": true, "bind_address": true, "socket": true, "datadir": true,
		"pid_file": true, "log_error": true, "server_id": true, "user": true,
		"log_bin": true, "relay_log": true, "no_defaults": true,
		"defaults_file": true, "defaults_extra_file": true,
	},
}

// withDefaults returns a copy of s with defaults filled in, or an error if s
// cannot describe a cluster.
func (s Spec) withDefaults(e Engine) (Spec, error) {
	if s.Shards == 0 {
		s.Shards = 1
	}
	if s.Database == "" {
		s.Database = "app"
	}
	if len(s.Users) == 0 {
		s.Users = []User{{Name: "app", Password: "app"}}
	}
	s.Users = append([]User(nil), s.Users...)
	settings := make(map[string]string, len(s.Settings))
	for k, v := range s.Settings {
		settings[k] = v
	}
	s.Settings = settings
	return s, s.validate(e)
}

func (s Spec) validate(e Engine) error {
	var errs []error
	if s.Shards < 1 || s.Shards > 64 {
		errs = append(errs, fmt.Errorf("Shards = %d, want 1..64", s.Shards))
	}
	if s.Replicas < 0 || s.Replicas > 8 {
		errs = append(errs, fmt.Errorf("Replicas = %d, want 0..8", s.Replicas))
	}
	if !identRE.MatchString(s.Database) {
		errs = append(errs, fmt.Errorf("Database %q is not a plain identifier", s.Database))
	}
	seen := map[string]bool{}
	for _, u := range s.Users {
		switch {
		case !identRE.MatchString(u.Name):
			errs = append(errs, fmt.Errorf("user %q is not a plain identifier", u.Name))
		case reservedUsers[strings.ToLower(u.Name)] || strings.HasPrefix(strings.ToLower(u.Name), "pg_"):
			errs = append(errs, fmt.Errorf("user %q is reserved", u.Name))
		case seen[strings.ToLower(u.Name)]:
			errs = append(errs, fmt.Errorf("user %q given twice", u.Name))
		case u.Password == "":
			errs = append(errs, fmt.Errorf("user %q has no password", u.Name))
		}
		seen[strings.ToLower(u.Name)] = true
	}
	for k, v := range s.Settings {
		norm := strings.ToLower(strings.ReplaceAll(k, "-", "_"))
		switch {
		case k == "" || strings.ContainsAny(k, " =\n\r\t'\"#"):
			errs = append(errs, fmt.Errorf("setting name %q is malformed", k))
		case strings.ContainsAny(v, "\n\r\x00"):
			errs = append(errs, fmt.Errorf("setting %s: value contains a line break", k))
		case placement[e][norm]:
			errs = append(errs, fmt.Errorf("setting %s is chosen by the sandbox per node", k))
		}
	}
	return errors.Join(errs...)
}
