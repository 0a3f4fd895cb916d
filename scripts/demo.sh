#!/usr/bin/env bash
# Quick start, command 1: install/build, then the end-to-end demo (throwaway PostgreSQL,
# workload, collection, Parquet dataset in ./pgscout-demo, summary).
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/bootstrap.sh
exec node bin/pgscout.js demo "$@"
