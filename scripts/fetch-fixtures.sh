#!/usr/bin/env bash
# Real test data from Debian packages, unpacked (not installed) into .cache/fixtures:
#   .cache/fixtures/pydicom  -> pydicom/data/test_files (transfer syntaxes, multi-frame, DICOMDIR, series)
#   .cache/fixtures/nibabel  -> nibabel/tests/data and nibabel/nicom/tests/data (NIfTI-1/2, 4D, DICOM)
set -euo pipefail
cd "$(dirname "$0")/.."
CACHE=.cache/fixtures
PKGS=(python3-pydicom python3-nibabel)
[ -f "$CACHE/.done" ] && exit 0
mkdir -p "$CACHE/debs" "$CACHE/root"
cd "$CACHE/debs"
if ! apt-get download "${PKGS[@]}" >/dev/null 2>&1; then
  # A fresh machine may have no package lists yet.
  ${SUDO:-$( [ "$(id -u)" = 0 ] || echo sudo )} apt-get update -qq
  apt-get download "${PKGS[@]}"
fi
for d in *.deb; do dpkg -x "$d" ../root; done
cd ..
PY=root/usr/lib/python3/dist-packages
ln -sfn "$PY/pydicom/data/test_files" pydicom
mkdir -p nibabel
ln -sfn "../$PY/nibabel/tests/data" nibabel/data
ln -sfn "../$PY/nibabel/nicom/tests/data" nibabel/nicom
touch .done
echo "fixtures ready in $CACHE"
