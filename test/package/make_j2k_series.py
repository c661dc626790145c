"""Writes a JPEG 2000 DICOM series from pydicom's MR_small_jp2klossless.dcm: N slices along the image normal, each
file the original's encapsulated codestream unchanged (no re-encoding) with its own SOP instance, instance number and
position. Run with Debian's /usr/bin/python3 (pydicom).
  make_j2k_series.py SOURCE.dcm OUT_DIR [N]"""
import os
import sys

import numpy as np
import pydicom
from pydicom.uid import generate_uid

src, out = sys.argv[1], sys.argv[2]
n = int(sys.argv[3]) if len(sys.argv) > 3 else 6
os.makedirs(out, exist_ok=True)
base = pydicom.dcmread(src)
assert base.file_meta.TransferSyntaxUID.name.startswith("JPEG 2000"), base.file_meta.TransferSyntaxUID.name
iop = np.array([float(v) for v in base.ImageOrientationPatient])
normal = np.cross(iop[:3], iop[3:])
ipp0 = np.array([float(v) for v in base.ImagePositionPatient])
step = float(base.get("SliceThickness", 0) or 0) or 3.0
series = generate_uid()
for k in range(n):
    ds = pydicom.dcmread(src)
    ds.SeriesInstanceUID = series
    ds.SOPInstanceUID = generate_uid()
    ds.file_meta.MediaStorageSOPInstanceUID = ds.SOPInstanceUID
    ds.InstanceNumber = k + 1
    ds.ImagePositionPatient = [f"{v:.4f}" for v in ipp0 + k * step * normal]
    ds.SliceLocation = f"{float(np.dot(ipp0 + k * step * normal, normal)):.4f}"
    ds.SeriesDescription = "J2K series (pydicom MR_small_jp2klossless, repeated)"
    ds.save_as(os.path.join(out, f"IM{k + 1:04d}.dcm"), write_like_original=True)
print(out)
