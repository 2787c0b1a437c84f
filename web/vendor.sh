#!/usr/bin/env bash
# Copies the third-party files the web client uses into static/vendor/, from the exact versions in
# package-lock.json. Run after changing package.json; commit the result (no build step at run time).
set -euo pipefail

here="$(cd "$(dirname "$0")" && pwd)"
tmp="$(mktemp -d)"
trap 'rm -rf "$tmp"' EXIT

cp "$here/package.json" "$here/package-lock.json" "$tmp/"
(cd "$tmp" && npm ci --ignore-scripts --no-audit --no-fund --loglevel=error)

dest="$here/static/vendor/leaflet"
rm -rf "$dest"
mkdir -p "$dest/images"
src="$tmp/node_modules/leaflet"
cp "$src/dist/leaflet.js" "$src/dist/leaflet.js.map" "$src/dist/leaflet.css" "$dest/"
cp "$src/dist/images/"*.png "$dest/images/"
cp "$src/LICENSE" "$dest/LICENSE"
version="$(node -p "require('$src/package.json').version")"
echo "leaflet $version" > "$dest/VERSION"
echo "vendored leaflet $version into ${dest#"$here/"}"
