#!/bin/sh
# Builds the release tarball the skein Ansible role installs: skein-<version>.tgz, holding
# dist/ (server, CLI, web UI), package.json, package-lock.json, .npmrc and docs/. No
# node_modules: the role runs `npm ci --omit=dev` on each host, which picks DuckDB's native
# binding for that host. (`npm pack` would leave out package-lock.json and .npmrc, without
# which `npm ci` cannot run.)
#
#   deploy/ansible/build-release.sh [output.tgz]     # default ./skein-<version>.tgz
#   SKEIN_SKIP_BUILD=1 deploy/ansible/build-release.sh   # dist/ is already built
set -eu
out=${1:-}
root=$(cd "$(dirname "$0")/../.." && pwd)
case "$out" in "" | /*) ;; *) out="$PWD/$out" ;; esac
cd "$root"
version=$(node -p "require('./package.json').version")
out=${out:-$PWD/skein-$version.tgz}
[ "${SKEIN_SKIP_BUILD:-}" = 1 ] || npm run build --silent
for built in dist/src/cli/main.js dist/ui/index.html; do
  [ -f "$built" ] || { echo "build-release: $built is missing: run npm run build" >&2; exit 1; }
done
files="package.json package-lock.json dist/src dist/ui docs README.md"
[ -f .npmrc ] && files="$files .npmrc"
# Sorted names, fixed owner and times: the same tree gives the same tarball, so the role
# sees an unchanged artifact and installs nothing.
# shellcheck disable=SC2086
tar --sort=name --owner=0 --group=0 --numeric-owner --mtime='2000-01-01 00:00Z' \
  --transform "s,^,skein-$version/," -cf - $files | gzip -n > "$out"
echo "$out"
