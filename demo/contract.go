package demo

// The demo's fixed contract. The README documents it; keep it.
const (
	PostgresPort = 6432
	MySQLPort    = 3307
	AdminPort    = 9090

	User     = "app"
	Password = "app"
	Database = "app"
	Keyspace = "app"

	// controlUser runs the proxy's own work on the servers (probes,
	// heartbeats); its password is random per demo.
	controlUser = "shardgate"
)

// keyRanges are the demo keyspace's shards, in order.
var keyRanges = []string{"-80", "80-"}

// table is one demo table: its DDL per engine and, for sharded tables, its
// sharding column.
type table struct {
	name     string
	column   string // "" for the reference table
	postgres string
	mariadb  string
}

var tables = []table{
	{
		name: "users", column: "id",
		postgres: `CREATE TABLE IF NOT EXISTS users (
	id         bigint PRIMARY KEY,
	name       text NOT NULL,
	region     text NOT NULL,
	balance    numeric(12,2) NOT NULL DEFAULT 0,
	created_at timestamptz NOT NULL DEFAULT now()
)`,
		mariadb: `CREATE TABLE IF NOT EXISTS users (
	id         BIGINT PRIMARY KEY,
	name       VARCHAR(100) NOT NULL,
	region     VARCHAR(32) NOT NULL,
	balance    DECIMAL(12,2) NOT NULL DEFAULT 0,
	created_at DATETIME(6) NOT NULL DEFAULT CURRENT_TIMESTAMP(6)
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_bin`,
	},
	{
		name: "orders", column: "user_id",
		postgres: `CREATE TABLE IF NOT EXISTS orders (
	id         bigint PRIMARY KEY,
	user_id    bigint NOT NULL,
	amount     numeric(12,2) NOT NULL,
	status     text NOT NULL DEFAULT 'new',
	created_at timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX IF NOT EXISTS orders_user_id ON orders (user_id)`,
		mariadb: `CREATE TABLE IF NOT EXISTS orders (
	id         BIGINT PRIMARY KEY,
	user_id    BIGINT NOT NULL,
	amount     DECIMAL(12,2) NOT NULL,
	status     VARCHAR(32) NOT NULL DEFAULT 'new',
	created_at DATETIME(6) NOT NULL DEFAULT CURRENT_TIMESTAMP(6),
	KEY orders_user_id (user_id)
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_bin`,
	},
	{
		name: "products",
		postgres: `CREATE TABLE IF NOT EXISTS products (
	id    bigint PRIMARY KEY,
	name  text NOT NULL,
	price numeric(12,2) NOT NULL
)`,
		mariadb: `CREATE TABLE IF NOT EXISTS products (
	id    BIGINT PRIMARY KEY,
	name  VARCHAR(100) NOT NULL,
	price DECIMAL(12,2) NOT NULL
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_bin`,
	},
}

// Rows: a dozen users in three regions, a few orders each, five products.
type userRow struct {
	id      int64
	name    string
	region  string
	balance string
}

type orderRow struct {
	id, userID int64
	amount     string
	status     string
}

type productRow struct {
	id    int64
	name  string
	price string
}

func demoUsers() []userRow {
	names := []string{"ada", "grace", "linus", "barbara", "ken", "margaret", "dennis", "frances", "edsger", "radia", "donald", "sophie"}
	regions := []string{"eu", "us", "apac"}
	var out []userRow
	for i, n := range names {
		id := int64(i + 1)
		out = append(out, userRow{id: id, name: n, region: regions[i%len(regions)], balance: balance(id)})
	}
	return out
}

func balance(id int64) string {
	cents := (id*7919)%100000 + 100
	return formatCents(cents)
}

func formatCents(c int64) string {
	return itoa(c/100) + "." + pad2(c%100)
}

func demoOrders() []orderRow {
	statuses := []string{"new", "paid", "shipped"}
	var out []orderRow
	for i := int64(1); i <= 30; i++ {
		out = append(out, orderRow{id: 1000 + i, userID: i%12 + 1, amount: formatCents(i*1234%50000 + 99), status: statuses[i%3]})
	}
	return out
}

var products = []productRow{
	{1, "keyboard", "49.90"}, {2, "mouse", "19.50"}, {3, "monitor", "229.00"}, {4, "laptop stand", "35.00"}, {5, "usb-c cable", "9.99"},
}
