#!/usr/bin/env bash
# Rewrites cmd/shardgate/default.pgo, the CPU profile `go build` uses for
# profile-guided optimisation of the shardgate binary (docs/design/pgo.md).
#
# It profiles shardgate's hot paths under the issue benchmarks: pgbench -S
# in the simple, extended and prepared modes (bench/pgbench), and sysbench
# oltp_point_select with and without prepared statements (bench/sysbench),
# 20 s each, and merges the five profiles. Takes 2–4 minutes; run it on
# an otherwise idle machine, after a change that moves the hot path.
set -euo pipefail
cd "$(dirname "$0")/.."
export PATH="/usr/local/go/bin:$PATH"
dur=${PGO_DURATION:-20s}
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
for m in simple extended prepared; do
	go run ./bench/pgbench -only shardgate-1 -modes "$m" -single=false -duration "$dur" -profile "$tmp/pg-$m.pprof" > "$tmp/pg-$m.txt"
done
for m in disable auto; do
	go run ./bench/sysbench -only shardgate-1 -modes "$m" -duration "$dur" -profile "$tmp/my-$m.pprof" > "$tmp/my-$m.txt"
done
go tool pprof -proto "$tmp"/*.pprof > cmd/shardgate/default.pgo
ls -l cmd/shardgate/default.pgo
