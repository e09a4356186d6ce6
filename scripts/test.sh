#!/usr/bin/env bash
# The whole test suite, on a fresh Debian machine as root (README quick start).
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/install-deps.sh
npm test
