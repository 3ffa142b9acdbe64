#!/usr/bin/env bash
# A throwaway PostgreSQL cluster for tests, on a loopback port.
#
#   eval "$(scripts/postgres.sh)"          # start: prints two assignments
#   go test ./hosted/store                 # tests read SENTRY_MCP_TEST_POSTGRES
#   scripts/postgres.sh stop "$SENTRY_MCP_POSTGRES_DIR"
#
# Start prints, on stdout:
#   SENTRY_MCP_TEST_POSTGRES=postgres://postgres@127.0.0.1:PORT/postgres?sslmode=disable
#   SENTRY_MCP_POSTGRES_DIR=DIR   (the cluster's directory, for stop)
# The cluster trusts every local connection and runs without fsync: it is
# for tests only. Binaries come from /usr/lib/postgresql/*/bin (or PATH);
# nothing is installed. As root, the server runs as the postgres user
# (initdb refuses root). PORT may be given in SENTRY_MCP_POSTGRES_PORT.
set -euo pipefail

bindir() {
	local d
	for d in $(ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V -r); do
		if [ -x "$d/initdb" ] && [ -x "$d/pg_ctl" ]; then
			echo "$d"
			return
		fi
	done
	if command -v initdb >/dev/null 2>&1 && command -v pg_ctl >/dev/null 2>&1; then
		dirname "$(command -v initdb)"
		return
	fi
	echo "postgres.sh: no PostgreSQL server binaries (initdb, pg_ctl) in /usr/lib/postgresql/*/bin or PATH; install Debian's postgresql package" >&2
	exit 1
}

# as CMD...: runs CMD as the cluster's owner.
as() {
	if [ "$(id -u)" = 0 ]; then
		runuser -u postgres -- "$@"
	else
		"$@"
	fi
}

port_free() {
	! (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null
}

stop() {
	local dir=${1:?usage: postgres.sh stop DIR}
	if [ ! -f "$dir/.sentry-mcp-postgres" ]; then
		echo "postgres.sh: $dir is not a cluster this script started; not touching it" >&2
		exit 1
	fi
	local bin
	bin=$(bindir)
	as "$bin/pg_ctl" -D "$dir/data" -m immediate -w stop >/dev/null 2>&1 || true
	rm -rf "$dir"
}

start() {
	local bin dir port tries
	bin=$(bindir)
	if [ "$(id -u)" = 0 ] && ! id postgres >/dev/null 2>&1; then
		echo "postgres.sh: running as root, but there is no postgres user to run the server as" >&2
		exit 1
	fi
	local tmp=${TMPDIR:-/tmp}
	if [ "$(id -u)" = 0 ]; then
		tmp=/tmp # the postgres user must be able to reach the cluster's directory
	fi
	dir=$(mktemp -d "$tmp/sentry-mcp-postgres.XXXXXX")
	touch "$dir/.sentry-mcp-postgres"
	mkdir "$dir/socket"
	if [ "$(id -u)" = 0 ]; then
		chown -R postgres: "$dir"
	fi
	if ! as "$bin/initdb" -D "$dir/data" -A trust -U postgres -E UTF8 --no-instructions >"$dir/initdb.log" 2>&1; then
		cat "$dir/initdb.log" >&2
		rm -rf "$dir"
		echo "postgres.sh: initdb failed" >&2
		exit 1
	fi
	for tries in 1 2 3 4 5 6 7 8; do
		port=${SENTRY_MCP_POSTGRES_PORT:-$((20000 + RANDOM % 20000))}
		if ! port_free "$port"; then
			[ -n "${SENTRY_MCP_POSTGRES_PORT:-}" ] && break
			continue
		fi
		if as "$bin/pg_ctl" -D "$dir/data" -l "$dir/server.log" -w -t 30 \
			-o "-p $port -k $dir/socket -c listen_addresses=127.0.0.1 -c fsync=off -c synchronous_commit=off -c full_page_writes=off -c max_connections=300" \
			start >/dev/null 2>&1; then
			if as "$bin/pg_isready" -q -h 127.0.0.1 -p "$port" -t 10; then
				echo "SENTRY_MCP_TEST_POSTGRES=postgres://postgres@127.0.0.1:$port/postgres?sslmode=disable"
				echo "SENTRY_MCP_POSTGRES_DIR=$dir"
				return
			fi
			as "$bin/pg_ctl" -D "$dir/data" -m immediate -w stop >/dev/null 2>&1 || true
		fi
		[ -n "${SENTRY_MCP_POSTGRES_PORT:-}" ] && break
	done
	cat "$dir/server.log" >&2 2>/dev/null || true
	rm -rf "$dir"
	echo "postgres.sh: could not start PostgreSQL on a loopback port" >&2
	exit 1
}

case "${1:-start}" in
start) start ;;
stop) stop "${2:-}" ;;
*)
	echo "usage: postgres.sh [start] | postgres.sh stop DIR" >&2
	exit 2
	;;
esac
