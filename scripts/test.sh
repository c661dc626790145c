#!/usr/bin/env bash
# The whole test suite: set-up (idempotent), type check, unit + real-file + oracle tests.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh
npm run --silent typecheck
npm run --silent test:unit
