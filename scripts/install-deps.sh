#!/usr/bin/env bash
# Installs what building, testing and the demo need, when it is missing:
# PostgreSQL 15 (server, client, pgbench), MariaDB server and client, the
# clients the integration tests drive, and the Go modules. Safe to re-run.
set -euo pipefail
cd "$(dirname "$0")/.."

SUDO=""
if [ "$(id -u)" -ne 0 ]; then
	if command -v sudo >/dev/null 2>&1; then SUDO="sudo"; else
		echo "install-deps: not root and no sudo; install the packages below by hand" >&2
	fi
fi

need=()
have_pg() { [ -x /usr/lib/postgresql/15/bin/postgres ] && [ -x /usr/lib/postgresql/15/bin/initdb ]; }
have_pg || need+=(postgresql-15 postgresql-client-15)
command -v mariadbd >/dev/null 2>&1 || [ -x /usr/sbin/mariadbd ] || need+=(mariadb-server)
command -v mariadb >/dev/null 2>&1 || need+=(mariadb-client)
command -v pgbouncer >/dev/null 2>&1 || need+=(pgbouncer)
/usr/bin/python3 -c 'import psycopg2' >/dev/null 2>&1 || need+=(python3-psycopg2)
/usr/bin/python3 -c 'import pymysql' >/dev/null 2>&1 || need+=(python3-pymysql)
command -v sysbench >/dev/null 2>&1 || need+=(sysbench)

if [ ${#need[@]} -gt 0 ]; then
	echo "install-deps: installing ${need[*]}"
	export DEBIAN_FRONTEND=noninteractive
	# Debian's packages start their services; the sandbox runs its own
	# servers, so keep the packaged ones from starting.
	if [ ! -e /usr/sbin/policy-rc.d ]; then
		printf '#!/bin/sh\nexit 101\n' | $SUDO tee /usr/sbin/policy-rc.d >/dev/null
		$SUDO chmod +x /usr/sbin/policy-rc.d
	fi
	$SUDO apt-get update -qq
	$SUDO apt-get install -y -qq --no-install-recommends "${need[@]}" >/dev/null
fi

if ! command -v go >/dev/null 2>&1 && [ -x /usr/local/go/bin/go ]; then
	export PATH="/usr/local/go/bin:$PATH"
fi
go mod download

# node-postgres and mysql2 for the client tests (proxy/testdata/node,
# proxy/mysqltest/testdata/node).
if command -v npm >/dev/null 2>&1; then
	if [ ! -d proxy/testdata/node/node_modules/pg ]; then
		(cd proxy/testdata/node && npm ci --silent --no-audit --no-fund)
	fi
	if [ ! -d proxy/mysqltest/testdata/node/node_modules/mysql2 ]; then
		(cd proxy/mysqltest/testdata/node && npm ci --silent --no-audit --no-fund)
	fi
else
	echo "install-deps: npm is missing; the node-postgres and mysql2 tests will fail" >&2
fi
