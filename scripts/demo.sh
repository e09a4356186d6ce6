#!/usr/bin/env bash
# The demo, on a fresh Debian machine as root (README quick start).
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/install-deps.sh
npm run build --silent
exec node bin/ovnmeta.js demo "$@"
