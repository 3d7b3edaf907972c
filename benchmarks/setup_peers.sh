#!/bin/sh
# Set-up of the benchmark suite beyond the hub itself (run by `make bench`, idempotent):
# 1. PostGIS, which pgstac needs, from Debian's packages for the local PostgreSQL (once);
# 2. the peers (pygeoapi, xpublish + xpublish-edr, titiler-xarray, stac-fastapi-pgstac and
#    pypgstac) from PyPI into their own virtualenv, benchmarks/.venv-peers (again only when
#    peers-requirements.txt changed).
set -e
cd "$(dirname "$0")"

if ! ls /usr/share/postgresql/*/extension/postgis.control >/dev/null 2>&1; then
  PGVER=$(pg_lsclusters -h 2>/dev/null | awk 'NR==1 {print $1}')
  PGVER=${PGVER:-15}
  echo "installing Debian's postgresql-$PGVER-postgis-3 for pgstac"
  SUDO=$( [ "$(id -u)" = 0 ] || echo sudo )
  $SUDO apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq "postgresql-$PGVER-postgis-3" >/dev/null
fi

# pygeoapi's current releases need Python >= 3.12: use one that runs (a version manager's shim
# may be on the PATH for a version it has not activated).
PY=
for cand in python3.12 python3.13 "$HOME"/.pyenv/versions/3.12*/bin/python3.12 \
    "$HOME"/.pyenv/versions/3.13*/bin/python3.13; do
  if "$cand" -c 'import sys, venv; assert sys.version_info >= (3, 12)' >/dev/null 2>&1; then
    PY=$cand
    break
  fi
done
PY=${PY:-python3}
STAMP=.venv-peers/.installed-stamp
if [ ! -f "$STAMP" ] || [ peers-requirements.txt -nt "$STAMP" ]; then
  echo "installing the peers into benchmarks/.venv-peers with $PY"
  "$PY" -m venv .venv-peers
  .venv-peers/bin/python -m pip install --quiet --upgrade pip
  .venv-peers/bin/python -m pip install --quiet -r peers-requirements.txt
  touch "$STAMP"
fi
