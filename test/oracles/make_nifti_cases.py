#!/usr/bin/python3
"""Writes NIfTI files covering what scanners and converters produce, with Debian's nibabel, into OUT_DIR.

One file per case (names below); the test reads each with our reader and with nibabel (nifti_dump.py) and compares.
usage: make_nifti_cases.py OUT_DIR
"""
import os
import sys

import nibabel as nib
import numpy as np

out = sys.argv[1]
os.makedirs(out, exist_ok=True)
rng = np.random.default_rng(7)
shape = (7, 6, 5)
aff = np.array([[-1.5, 0.1, 0, 10], [0.05, 1.2, -0.2, -20], [0, 0.3, 2.0, 5], [0, 0, 0, 1]])


def save(name, data, affine=aff, klass=nib.Nifti1Image, setup=None, **kw):
    img = klass(data, affine, **kw)
    if setup:
        setup(img.header)
    nib.save(img, os.path.join(out, name))


for dt in ["uint8", "int8", "int16", "uint16", "int32", "uint32", "float32", "float64"]:
    info = np.iinfo(dt) if dt[0] in "ui" else None
    lo, hi = (info.min, info.max) if info else (-1e3, 1e3)
    data = rng.uniform(lo, hi, size=shape).astype(dt)
    save(f"type-{dt}.nii", data)

# Big-endian int16 and float32.
for dt in [">i2", ">f4"]:
    img = nib.Nifti1Image(rng.integers(-500, 500, size=shape).astype(dt), aff)
    nib.save(img, os.path.join(out, f"bigendian-{dt[1:]}.nii"))

# CT: stored int16 with slope 1, intercept -1024 -> Hounsfield units.
ct = nib.Nifti1Image(rng.integers(0, 3000, size=shape).astype(np.int16), aff)
ct.header.set_slope_inter(1, -1024)
nib.save(ct, os.path.join(out, "ct-hu.nii"))
# slope 0 means "no scaling" (NIfTI standard, nibabel agrees).
s0 = nib.Nifti1Image(rng.integers(0, 100, size=shape).astype(np.int16), aff)
nib.save(s0, os.path.join(out, "slope0.nii"))
with open(os.path.join(out, "slope0.nii"), "r+b") as f:
    f.seek(112)
    f.write(np.array([0, 5], "<f4").tobytes())  # scl_slope 0, scl_inter 5

# Affine sources: qform only, sform only, both disagreeing, neither.
d = rng.integers(0, 100, size=shape).astype(np.int16)
q = nib.Nifti1Image(d, aff)
q.set_sform(None, code=0)
q.set_qform(aff, code=1)
nib.save(q, os.path.join(out, "qform-only.nii"))
sf = nib.Nifti1Image(d, aff)
sf.set_qform(None, code=0)
sf.set_sform(aff, code=2)
nib.save(sf, os.path.join(out, "sform-only.nii"))
both = nib.Nifti1Image(d, aff)
both.set_sform(aff, code=2)
both.set_qform(np.diag([3.0, 3.0, 3.0, 1]), code=1)
nib.save(both, os.path.join(out, "qform-sform-disagree.nii"))
none = nib.Nifti1Image(d, aff)
none.set_sform(None, code=0)
none.set_qform(None, code=0)
nib.save(none, os.path.join(out, "no-orientation.nii"))
# Negative qfac (left-handed qform).
lh = nib.Nifti1Image(d, np.diag([2.0, 2.0, -3.0, 1]))
lh.set_sform(None, code=0)
lh.set_qform(np.diag([2.0, 2.0, -3.0, 1]), code=1)
nib.save(lh, os.path.join(out, "qfac-negative.nii"))

# Containers: gzip, .hdr/.img pair, NIfTI-2, 4D, header extension.
save("gzipped.nii.gz", d)
save("pair.hdr", d, klass=nib.Nifti1Pair)
save("nifti2.nii", d, klass=nib.Nifti2Image)
save("four-d.nii.gz", rng.integers(0, 1000, size=shape + (3,)).astype(np.int16))
ext = nib.Nifti1Image(d, aff)
ext.header.extensions.append(nib.nifti1.Nifti1Extension("comment", b"written by the hlip-viewer tests " * 9))
nib.save(ext, os.path.join(out, "with-extension.nii"))

# RGB24 (structured dtype): nibabel cannot get_fdata it, so the expected bytes are written beside it.
rgb = np.zeros(shape, dtype=[("R", "u1"), ("G", "u1"), ("B", "u1")])
rgb["R"] = rng.integers(0, 255, size=shape)
rgb["G"] = rng.integers(0, 255, size=shape)
rgb["B"] = rng.integers(0, 255, size=shape)
nib.save(nib.Nifti1Image(rgb, aff), os.path.join(out, "rgb24.nii"))
np.stack([rgb["R"], rgb["G"], rgb["B"]], axis=-1).transpose(2, 1, 0, 3).astype("u1").tofile(os.path.join(out, "rgb24.expected"))
