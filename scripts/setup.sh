#!/usr/bin/env bash
# Everything a fresh machine of this kind needs: npm packages (offline from anything but the npm registry),
# Debian oracles/peers for tests and benchmarks, the Debian test data, and the bundles. Idempotent.
set -euo pipefail
cd "$(dirname "$0")/.."
export ONNXRUNTIME_NODE_INSTALL=skip   # CPU build only; see README "GPU" for CUDA
if [ ! -d node_modules ] || [ package-lock.json -nt node_modules/.package-lock.json ]; then
  npm ci --no-audit --no-fund
fi
bash scripts/install-system.sh
bash scripts/fetch-fixtures.sh
bash scripts/make-hlip-fixtures.sh   # HLIP parity fixtures (tools/hlip_ref) -> .cache/hlip-ref
npm run --silent build
