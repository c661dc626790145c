#!/usr/bin/python3
"""Pixel values of a natively encoded (or RLE) DICOM file as pydicom sees them, modality LUT applied.
Writes OUT.json {shape, frames} and OUT.f32 (frames x rows x cols [x samples], C order)."""
import json
import sys

import numpy as np
import pydicom
from pydicom.pixel_data_handlers.util import apply_modality_lut

ds = pydicom.dcmread(sys.argv[1], force=True)
arr = ds.pixel_array
if ds.get("SamplesPerPixel", 1) == 1:
    arr = apply_modality_lut(arr, ds)
frames = int(ds.get("NumberOfFrames", 1) or 1)
with open(sys.argv[2] + ".json", "w") as f:
    json.dump({"shape": list(arr.shape), "frames": frames}, f)
np.ascontiguousarray(arr, dtype="<f4").tofile(sys.argv[2] + ".f32")
