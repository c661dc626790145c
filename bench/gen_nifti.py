#!/usr/bin/python3
"""Writes the NIfTI input of bench/io.ts with Debian's nibabel: 512x512x300 int16, scl_slope 1, scl_inter -1024.

The voxels are the same phantom as test/oracles/make_series.py (ramp + bright block + noise, seed 1), so the .nii.gz
and the generated DICOM series hold identical stored values. gzip level 6 (gzip's and pigz's default).

usage: gen_nifti.py OUT.nii.gz [--shape X Y Z]
"""
import argparse

import nibabel as nib
import numpy as np
from nibabel.openers import ImageOpener


def phantom(shape):
    nx, ny, nz = shape
    x = np.arange(nx, dtype=np.int16)[:, None, None]
    y = np.arange(ny, dtype=np.int16)[None, :, None]
    z = np.arange(nz, dtype=np.int16)[None, None, :]
    v = z * 7 + x * 2 + y  # broadcast to (nx, ny, nz), int16
    v[: nx // 4, : ny // 3, nz // 2 :] += 900
    v += np.random.default_rng(1).integers(0, 5, size=shape).astype(np.int16)
    return v


def main():
    p = argparse.ArgumentParser()
    p.add_argument("out")
    p.add_argument("--shape", type=int, nargs=3, default=[512, 512, 300])
    a = p.parse_args()
    affine = np.diag([0.5, 0.5, 1.0, 1.0])
    img = nib.Nifti1Image(phantom(tuple(a.shape)), affine)
    img.set_data_dtype(np.int16)
    img.header.set_slope_inter(1, -1024)
    img.header.set_xyzt_units("mm")
    ImageOpener.default_compresslevel = 6
    img.to_filename(a.out)
    back = nib.load(a.out)
    assert back.get_data_dtype() == np.int16 and back.shape == tuple(a.shape)
    assert (back.dataobj.slope, back.dataobj.inter) == (1.0, -1024.0), (back.dataobj.slope, back.dataobj.inter)


if __name__ == "__main__":
    main()
