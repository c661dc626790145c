#!/usr/bin/env bash
# The whole test suite: set-up (idempotent), type check, unit + real-file + oracle tests, then the extension in a real
# VS Code (code-server + headless chromium): extension-host tests and UI tests. Screenshots land in test-results/.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh
bash scripts/install-test-host.sh
npm run --silent typecheck
npm run --silent test:unit
node --import tsx test/host/prepare-fixtures.ts .cache/host-fixtures >/dev/null
npm run --silent test:host -- --fixtures .cache/host-fixtures
npm run --silent test:ui
