#!/usr/bin/python3
"""Asymmetric phantom NIfTI for the viewer's orientation tests, stored in LPS voxel order (a reader must flip it).

Voxel value by world region (RAS+):   0 outside a central box, 400 inside it
  R-block: the patient's right 20 % (x), middle band of y, all z           -> 1000
  A-block: the anterior 20 % (y), middle band of x, all z                  -> 2000
  S-block: the superior 20 % (z), middle band of y, all x                  -> 3000
Also writes OUT_overlay.nii.gz: 1 in the R-block only (a label map on the same grid).
usage: make_phantom.py OUT.nii.gz [N]
"""
import sys

import nibabel as nib
import numpy as np

out = sys.argv[1]
n = int(sys.argv[2]) if len(sys.argv) > 2 else 64
# Build in RAS index order first: ras[x, y, z] with x toward R, y toward A, z toward S.
ras = np.zeros((n, n, n), np.int16)
inner = slice(int(n * 0.1), int(n * 0.9))
ras[inner, inner, inner] = 400
hi, mid = slice(int(n * 0.8), n), slice(int(n * 0.4), int(n * 0.6))
ras[hi, mid, :] = 1000
ras[mid, hi, :] = 2000
ras[:, mid, hi] = 3000
label = np.zeros((n, n, n), np.uint8)
label[hi, mid, :] = 1
# Store as LPS: i grows to the left, j to the posterior, k superior; spacing 1 x 1.2 x 1.5 mm.
lps = ras[::-1, ::-1, :]
aff = np.diag([-1.0, -1.2, 1.5, 1])
aff[:3, 3] = [(n - 1) * 1.0 / 2, (n - 1) * 1.2 / 2, -(n - 1) * 1.5 / 2]
nib.save(nib.Nifti1Image(lps, aff), out)
nib.save(nib.Nifti1Image(label[::-1, ::-1, :].copy(), aff), out.replace(".nii", "_overlay.nii"))
