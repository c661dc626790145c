#!/usr/bin/python3
"""Pixel values of a natively encoded (or RLE) DICOM file as pydicom sees them, modality LUT applied.
Colour is given as the viewer shows it: YBR converted to RGB (pydicom's convert_color_space) and deeper samples
reduced to their top 8 stored bits.
Writes OUT.json {shape, frames} and OUT.f32 (frames x rows x cols [x samples], C order)."""
import json
import sys

import numpy as np
import pydicom
from pydicom.pixel_data_handlers.util import apply_modality_lut, convert_color_space

ds = pydicom.dcmread(sys.argv[1], force=True)
arr = ds.pixel_array
if ds.get("SamplesPerPixel", 1) == 1:
    arr = apply_modality_lut(arr, ds)
else:
    if ds.BitsStored > 8:
        arr = (arr.astype(np.uint64) >> (ds.BitsStored - 8)).astype(np.uint8)
    pi = ds.PhotometricInterpretation
    if pi.startswith("YBR_FULL"):
        arr = convert_color_space(arr.astype(np.uint8), pi, "RGB")
frames = int(ds.get("NumberOfFrames", 1) or 1)
with open(sys.argv[2] + ".json", "w") as f:
    json.dump({"shape": list(arr.shape), "frames": frames}, f)
np.ascontiguousarray(arr, dtype="<f4").tofile(sys.argv[2] + ".f32")
