#!/usr/bin/env bash
# The main job on the bundled default: set up, describe a real DICOM study and a real NIfTI scan, then write the
# embedded demo model (HLIP architecture, seeded random weights: UNTRAINED), convert it and classify a sample MRI study.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh >&2
node dist/cli.js info .cache/fixtures/pydicom/dicomdirtests/98892003 .cache/fixtures/nibabel/data/example4d.nii.gz
SAMPLE=.cache/sample-study
mkdir -p "$SAMPLE"
cp -f .cache/fixtures/nibabel/data/anatomical.nii .cache/fixtures/nibabel/data/example4d.nii.gz "$SAMPLE/"
node dist/cli.js demo-model .cache/demo-model >/dev/null
node dist/cli.js classify "$SAMPLE" --model .cache/demo-model --cache .cache/hlip-models "$@"
