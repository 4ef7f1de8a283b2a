#!/usr/bin/env bash
# Installs what the test suite needs on Debian (as root): the real web servers the end-to-end
# tests start from their own configs, then the npm dependencies. Idempotent.
set -euo pipefail
cd "$(dirname "$0")/.."
export DEBIAN_FRONTEND=noninteractive
missing=$(for p in $(cat scripts/debian-packages.txt); do dpkg-query -W -f='${Status}\n' "$p" 2>/dev/null | grep -q 'install ok installed' || echo "$p"; done)
if [ -n "$missing" ]; then
  apt-get update -q
  # shellcheck disable=SC2086
  apt-get install -y -q --no-install-recommends $missing
fi
# Debian starts the services it installs where it can; the tests never use them.
for s in apache2 nginx lighttpd php8.2-fpm; do service "$s" stop >/dev/null 2>&1 || true; done
# Apache, nginx, lighttpd and `dualcgi doctor` run the test scripts as www-data from this checkout:
# it must be readable by others and every folder above it searchable (a clone into `mktemp -d`
# is 0700). Only missing bits are added, and said.
top=$(pwd -P)
perm=$(stat -c %A "$top")
if [ "${perm:7:1}" != "r" ] || [ "${perm:9:1}" != "x" ]; then
  chmod o+rx "$top" && echo "setup: made the checkout $top readable by others (www-data runs the tests' scripts from it)"
fi
dir=$(dirname "$top")
while [ "$dir" != "/" ]; do
  perm=$(stat -c %A "$dir")
  case "${perm:9:1}" in
    x|t) ;;
    *) chmod o+x "$dir" && echo "setup: made $dir searchable by others (www-data runs the tests' scripts below it)" ;;
  esac
  dir=$(dirname "$dir")
done
npm ci --no-audit --no-fund
