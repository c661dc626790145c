#!/usr/bin/python3
"""One measured load by a Python peer in a fresh interpreter (spawned by bench/io.ts). Prints one JSON line.

  peer_nibabel.py baseline          imports numpy, nibabel, pydicom; loads nothing
  peer_nibabel.py dataobj FILE      nib.load + np.asanyarray(img.dataobj)  (nibabel applies scl_slope/inter here)
  peer_nibabel.py fdata FILE        nib.load + img.get_fdata()             (float64, scaled)
  peer_nibabel.py pydicom DIR       pydicom.dcmread every file, sort along the normal, np.stack(pixel_array) (raw)

Peak RSS is resource.getrusage(RUSAGE_SELF).ru_maxrss (KiB on Linux).
"""
import json
import os
import resource
import sys
import time

import nibabel as nib
import numpy as np
import pydicom


def load_pydicom(folder):
    dss = [pydicom.dcmread(os.path.join(folder, f)) for f in sorted(os.listdir(folder))]
    normal = np.cross(*np.reshape(np.asarray(dss[0].ImageOrientationPatient, float), (2, 3)))
    dss.sort(key=lambda ds: float(np.dot(normal, np.asarray(ds.ImagePositionPatient, float))))
    return np.stack([ds.pixel_array for ds in dss])


def main():
    mode = sys.argv[1]
    out = {}
    if mode != "baseline":
        path = sys.argv[2]
        t0 = time.perf_counter()
        if mode == "dataobj":
            arr = np.asanyarray(nib.load(path).dataobj)
        elif mode == "fdata":
            arr = nib.load(path).get_fdata()
        elif mode == "pydicom":
            arr = load_pydicom(path)
        else:
            raise SystemExit(f"unknown mode {mode}")
        out["loadMs"] = (time.perf_counter() - t0) * 1000
        out.update(dtype=str(arr.dtype), shape=list(arr.shape), bytes=int(arr.nbytes),
                   range=[float(arr.min()), float(arr.max())])
    out["peakLoadKiB"] = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    print(json.dumps(out))


if __name__ == "__main__":
    main()
