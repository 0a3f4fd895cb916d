#!/usr/bin/env bash
# Installs what pgscout needs on Debian 12 (as root) and builds it. Idempotent and quick
# when everything is already there. Used by scripts/demo.sh, scripts/test.sh and .ci/run.
set -euo pipefail
cd "$(dirname "$0")/.."

if [ "$(id -u)" != 0 ]; then
  echo "bootstrap: run as root (apt-get installs, and eBPF needs root anyway)" >&2
  exit 1
fi

PKGS=(clang llvm openssl libbpf-dev bpftool make gcc postgresql postgresql-contrib postgresql-15-pg-stat-kcache chromium prometheus
  python3-pandas python3-xgboost python3-sklearn python3-psycopg2 python3-psycopg)
missing=()
for p in "${PKGS[@]}"; do dpkg -s "$p" >/dev/null 2>&1 || missing+=("$p"); done
if [ "${#missing[@]}" -gt 0 ]; then
  echo "bootstrap: apt-get install ${missing[*]}" >&2
  apt-get update -q >/dev/null
  DEBIAN_FRONTEND=noninteractive apt-get install -y -q --no-install-recommends "${missing[@]}" >/dev/null
  # The prometheus package starts a system service on :9090 where systemd runs; the tests run their own.
  if command -v systemctl >/dev/null && systemctl is-active --quiet prometheus 2>/dev/null; then
    systemctl disable --now prometheus >/dev/null 2>&1 || true
  fi
fi

if ! command -v node >/dev/null || [ "$(node -p 'process.versions.node.split(".")[0]')" -lt 20 ]; then
  echo "bootstrap: Node.js >= 20 is required (found: $(node --version 2>/dev/null || echo none))" >&2
  exit 1
fi

# npm ci runs the `prepare` script, which builds the BPF objects and the TypeScript.
if [ ! -f node_modules/.package-lock.json ] || [ package-lock.json -nt node_modules/.package-lock.json ] || [ "${CI:-}" = true ]; then
  npm ci --no-audit --no-fund
else
  npm run build
fi
