#!/usr/bin/python3
"""Dumps a NIfTI through nibabel: OUT.json (shape, affine) and OUT.f32 (get_fdata as float32, x fastest)."""
import json
import sys

import nibabel as nib
import numpy as np

img = nib.load(sys.argv[1])
data = np.asarray(img.get_fdata(dtype=np.float32))
with open(sys.argv[2] + ".json", "w") as f:
    json.dump({"shape": list(data.shape), "affine": img.affine.tolist()}, f)
data.ravel(order="F").astype("<f4").tofile(sys.argv[2] + ".f32")
