#!/usr/bin/env bash
# HLIP parity fixtures (small random-weight models + reference outputs, tools/hlip_ref) into .cache/hlip-ref.
# Idempotent: skipped while .cache/hlip-ref/.done is newer than every tools/hlip_ref/*.py and the variants table.
# Needs Debian's python3-torch + numpy in /usr/bin/python3 (scripts/install-system.sh installs them).
set -euo pipefail
cd "$(dirname "$0")/.."
out=.cache/hlip-ref
stale=0
if [ ! -f "$out/.done" ]; then stale=1; else
  for f in tools/hlip_ref/*.py models/hlip-variants.json; do
    if [ "$f" -nt "$out/.done" ]; then stale=1; fi
  done
fi
[ "$stale" = 0 ] && exit 0
if ! /usr/bin/python3 -c 'import torch, numpy' 2>/dev/null; then
  echo "make-hlip-fixtures: /usr/bin/python3 lacks torch/numpy (apt-get install python3-torch python3-numpy)" >&2
  exit 1
fi
rm -rf "$out.tmp"
/usr/bin/python3 tools/hlip_ref/make_fixtures.py "$out.tmp"
rm -rf "$out" && mv "$out.tmp" "$out"   # swap in whole: a killed run never leaves half a set behind
touch "$out/.done"
