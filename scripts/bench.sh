#!/usr/bin/env bash
# make bench: the benchmarks of bench/run.py against the local PostgreSQL.
# BENCH_SIZES="10000 100000" (invoice counts), BENCH_ARGS for anything else.
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

bootstrap
[[ -f "$REPO/bench/run.py" ]] || die "bench/run.py does not exist yet"
cd "$REPO"
# shellcheck disable=SC2086
exec "$VPY" bench/run.py -c "$ODOO_CONF" --sizes ${BENCH_SIZES:-10000 100000} ${BENCH_ARGS:-}
