#!/usr/bin/env bash
# The whole test suite: set-up (idempotent), type check, unit + real-file + oracle tests, then the extension in a real
# VS Code (code-server + headless chromium): extension-host tests and UI tests. Screenshots land in test-results/.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh
bash scripts/install-test-host.sh
npm run --silent typecheck
npm run --silent test:unit
# examples/slurm on a real single-node Slurm (started and stopped by the script), examples/k8s parsed and compared.
bash test/slurm/run-example.sh
node --import tsx test/host/prepare-fixtures.ts .cache/host-fixtures >/dev/null
npm run --silent test:host -- --fixtures .cache/host-fixtures
# Again in restricted mode (workspace trust on, folder untrusted): viewing must keep working.
HLIP_WORKSPACE_TRUST=1 npm run --silent test:host -- viewer --fixtures .cache/host-fixtures --grep 'restricted mode|opens and renders|shows the'
npm run --silent test:ui
# What users install: the manifest, every platform package's contents, the linux-x64 .vsix installed and smoke-tested.
npm run --silent test:package
