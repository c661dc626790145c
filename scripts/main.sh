#!/usr/bin/env bash
# The main job on a bundled default: set up, then describe a real DICOM study and a real NIfTI scan.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh >&2
node dist/cli.js info .cache/fixtures/pydicom/dicomdirtests/98892003 .cache/fixtures/nibabel/data/example4d.nii.gz "$@"
