#!/usr/bin/env bash
# Runs the browser flows (*.test.mjs) one file at a time in headless Chromium against a real
# kamegord. Usage: run-browser-tests.sh [FILE.test.mjs ...]   (default: all of them)
# Environment: KAMEGORD, KAMEGORCTL (built binaries), CHROMIUM (default /usr/bin/chromium),
# KMG_ARTIFACTS (screenshots, default tests/artifacts/browser), KMG_KEEP_DATA=1 keeps data dirs.
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
cd "$here"

chromium="${CHROMIUM:-/usr/bin/chromium}"
if [ ! -x "$chromium" ]; then
  echo "browser tests need $chromium: run scripts/install-deps test" >&2
  exit 1
fi
if ! command -v node >/dev/null; then
  echo "browser tests need node: run scripts/install-deps test" >&2
  exit 1
fi
if [ ! -f node_modules/playwright-core/package.json ]; then
  npm ci --no-audit --no-fund --loglevel=error
fi

if [ "$#" -eq 0 ]; then
  set -- *.test.mjs
fi
# One file at a time: each starts its own server and two or three browser contexts.
exec node --test --test-concurrency=1 "$@"
