#!/usr/bin/env bash
# Generate collectors/layouts/pg<major>.json: PostgreSQL executor struct
# offsets, NodeTag numbering and enum values, as the C compiler sees them in
# the postgresql-server-dev-<major> headers.
#
# Usage: bash scripts/gen-layouts.sh <major> [output.json]
#
# The headers come from `apt-get download` + `dpkg -x` so the installed
# server is never upgraded or touched. They are cached under
# ${PGSCOUT_CACHE:-/tmp/pgscout-cache}; the .deb is re-fetched on every run so
# the table always reflects the mirror's current package.
set -euo pipefail

die() { echo "gen-layouts: $*" >&2; exit 1; }

[[ $# -ge 1 && $# -le 2 && $1 =~ ^[0-9]+$ ]] || die "usage: bash scripts/gen-layouts.sh <major> [output.json]"
major=$1
root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
out=${2:-$root/collectors/layouts/pg$major.json}
pkg=postgresql-server-dev-$major
cache=${PGSCOUT_CACHE:-/tmp/pgscout-cache}/pg-headers/$major

command -v apt-get >/dev/null || die "apt-get not found; this generator needs a Debian/Ubuntu host"
command -v dpkg >/dev/null || die "dpkg not found; this generator needs a Debian/Ubuntu host"
command -v "${CC:-cc}" >/dev/null || die "no C compiler (${CC:-cc}); install gcc or clang"
command -v node >/dev/null || die "node not found"

mkdir -p "$cache"
dl=$(mktemp -d "$cache/download.XXXXXX")
trap 'rm -rf "$dl"' EXIT

# Root's apt drops privileges to _apt, which cannot write a root-owned temp dir.
download() { (cd "$dl" && apt-get download -o APT::Sandbox::User=root "$pkg" 2>&1); }

if ! log=$(download); then
  if grep -qE "Unable to locate package|Can't select candidate|has no installation candidate" <<<"$log"; then
    # Possibly a stale package index: refresh once (needs root), then retry.
    if [[ $(id -u) -eq 0 ]]; then
      apt-get update -qq >/dev/null 2>&1 || true
      log=$(download) || die "$pkg is not in any configured apt source (after apt-get update).
For majors not shipped by your distribution add apt.postgresql.org (see docs/layouts.md).
apt-get said:
$log"
    else
      die "$pkg not found in the apt index; run 'apt-get update' as root (or add apt.postgresql.org, see docs/layouts.md).
apt-get said:
$log"
    fi
  else
    die "could not download $pkg from the Debian mirror (is the network up?).
apt-get said:
$log"
  fi
fi

deb=$(find "$dl" -maxdepth 1 -name "${pkg}_*.deb" -print -quit)
[[ -n $deb ]] || die "apt-get download reported success but left no ${pkg}_*.deb in $dl"
debname=$(basename "$deb")
tree=$cache/${debname%.deb}
if [[ ! -d $tree/usr ]]; then
  rm -rf "$tree.partial"
  dpkg -x "$deb" "$tree.partial"
  mv "$tree.partial" "$tree"
fi
include=$tree/usr/include/postgresql/$major/server
[[ -f $include/postgres.h ]] || die "$debname has no $include/postgres.h"

mkdir -p "$(dirname "$out")"
node "$root/scripts/gen-layouts.mjs" \
  --include "$include" \
  --major "$major" \
  --source "$debname" \
  --arch "$(dpkg-deb -f "$deb" Architecture)" \
  --command "bash scripts/gen-layouts.sh $major" \
  --out "$out"
echo "gen-layouts: wrote $out (from $debname)" >&2
