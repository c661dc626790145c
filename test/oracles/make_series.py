#!/usr/bin/python3
"""Writes a DICOM series (one file per slice, or one enhanced multi-frame file) with pydicom from Debian.

The volume is an asymmetric phantom (or a NIfTI given with --from), so orientation mistakes show. File names and
InstanceNumbers are scrambled on request: a reader must sort by position along the slice normal.

usage: make_series.py OUT_DIR [--shape X Y Z] [--spacing SX SY SZ] [--orient axial|sagittal|coronal|oblique]
       [--modality CT|MR] [--syntax explicit|implicit|bigendian] [--scramble] [--gap-jitter MM] [--tilt DEG]
       [--enhanced] [--from FILE.nii] [--seed N]
"""
import argparse
import os
import random

import numpy as np
import pydicom
from pydicom.dataset import Dataset, FileDataset, FileMetaDataset
from pydicom.sequence import Sequence
from pydicom.uid import ExplicitVRBigEndian, ExplicitVRLittleEndian, ImplicitVRLittleEndian, generate_uid

CT_IMAGE = "1.2.840.10008.5.1.4.1.1.2"
MR_IMAGE = "1.2.840.10008.5.1.4.1.1.4"
ENHANCED_MR = "1.2.840.10008.5.1.4.1.1.4.1"


def rotation(orient, rng):
    """Row and column direction cosines (LPS) for the requested plane."""
    if orient == "axial":
        return np.array([1.0, 0, 0]), np.array([0, 1.0, 0])
    if orient == "sagittal":
        return np.array([0, 1.0, 0]), np.array([0, 0, -1.0])
    if orient == "coronal":
        return np.array([1.0, 0, 0]), np.array([0, 0, -1.0])
    # oblique: axial rotated about two axes
    a, b = np.deg2rad(17.0), np.deg2rad(-11.0)
    rx = np.array([[1, 0, 0], [0, np.cos(a), -np.sin(a)], [0, np.sin(a), np.cos(a)]])
    rz = np.array([[np.cos(b), -np.sin(b), 0], [np.sin(b), np.cos(b), 0], [0, 0, 1]])
    r = rz @ rx
    return r[:, 0], r[:, 1]


def phantom(shape, modality):
    """int16 volume indexed [x, y, z]: a bright block near low x, low y, high z corner, a ramp along z, noise."""
    x, y, z = np.meshgrid(*[np.arange(n) for n in shape], indexing="ij")
    v = (z * 7 + x * 2 + y).astype(np.float64)
    nx, ny, nz = shape
    v[: nx // 4, : ny // 3, nz // 2 :] += 900
    v += np.random.default_rng(1).integers(0, 5, size=shape)
    if modality == "CT":
        v = v - 1024 + 1024  # stored values; rescale intercept -1024 makes them HU
    return v.astype(np.int16)


def base_dataset(path, sop_class, syntax, modality, study, series):
    meta = FileMetaDataset()
    meta.MediaStorageSOPClassUID = sop_class
    meta.MediaStorageSOPInstanceUID = generate_uid()
    meta.TransferSyntaxUID = {"explicit": ExplicitVRLittleEndian, "implicit": ImplicitVRLittleEndian,
                              "bigendian": ExplicitVRBigEndian}[syntax]
    ds = FileDataset(path, {}, file_meta=meta, preamble=b"\0" * 128)
    ds.is_little_endian = syntax != "bigendian"
    ds.is_implicit_VR = syntax == "implicit"
    ds.SOPClassUID = sop_class
    ds.SOPInstanceUID = meta.MediaStorageSOPInstanceUID
    ds.Modality = modality
    ds.PatientName = "Phantom^Test"
    ds.PatientID = "PHANTOM"
    ds.StudyInstanceUID = study
    ds.SeriesInstanceUID = series
    ds.FrameOfReferenceUID = study[:60] + ".1"
    ds.SeriesNumber = 3
    ds.SeriesDescription = "phantom"
    ds.StudyDate = "20260101"
    ds.StudyTime = "120000"
    ds.Manufacturer = "hlip-viewer tests"
    ds.SamplesPerPixel = 1
    ds.PhotometricInterpretation = "MONOCHROME2"
    ds.BitsAllocated = 16
    ds.BitsStored = 16
    ds.HighBit = 15
    ds.PixelRepresentation = 1
    if modality == "CT":
        ds.RescaleIntercept = -1024
        ds.RescaleSlope = 1
        ds.RescaleType = "HU"
    return ds


def main():
    p = argparse.ArgumentParser()
    p.add_argument("out")
    p.add_argument("--shape", type=int, nargs=3, default=[40, 36, 24])
    p.add_argument("--spacing", type=float, nargs=3, default=[0.9, 1.1, 2.5])
    p.add_argument("--orient", default="axial")
    p.add_argument("--modality", default="CT")
    p.add_argument("--syntax", default="explicit")
    p.add_argument("--scramble", action="store_true")
    p.add_argument("--gap-jitter", type=float, default=0.0)
    p.add_argument("--tilt", type=float, default=0.0)
    p.add_argument("--enhanced", action="store_true")
    p.add_argument("--from", dest="src")
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--series-uid", help="reuse a SeriesInstanceUID (to build a series that mixes geometries)")
    a = p.parse_args()
    rng = random.Random(a.seed)
    os.makedirs(a.out, exist_ok=True)

    if a.src:
        import nibabel as nib
        vol = np.asarray(nib.load(a.src).dataobj).astype(np.int16)
        while vol.ndim > 3:
            vol = vol[..., 0]
    else:
        vol = phantom(tuple(a.shape), a.modality)
    nx, ny, nz = vol.shape
    sx, sy, sz = a.spacing
    row, col = rotation(a.orient, rng)
    normal = np.cross(row, col)
    # Gantry tilt shears slices along the column direction (as CT scanners do).
    tilt_shift = np.tan(np.deg2rad(a.tilt)) * sz
    origin = np.array([-nx * sx / 2, -ny * sy / 2, 40.0])
    offsets = np.arange(nz) * sz
    if a.gap_jitter:
        offsets = offsets + np.array([0] + [rng.uniform(-a.gap_jitter, a.gap_jitter) for _ in range(nz - 2)] + [0])
    study, series = generate_uid(), a.series_uid or generate_uid()
    order = list(range(nz))
    if a.scramble:
        rng.shuffle(order)

    sop = ENHANCED_MR if a.enhanced else (CT_IMAGE if a.modality == "CT" else MR_IMAGE)
    if a.enhanced:
        path = os.path.join(a.out, "enhanced.dcm")
        ds = base_dataset(path, sop, "explicit", a.modality, study, series)
        ds.Rows, ds.Columns = ny, nx
        ds.NumberOfFrames = nz
        shared = Dataset()
        pm = Dataset()
        pm.PixelSpacing = [sy, sx]
        pm.SliceThickness = sz
        shared.PixelMeasuresSequence = Sequence([pm])
        po = Dataset()
        po.ImageOrientationPatient = [*row, *col]
        shared.PlaneOrientationSequence = Sequence([po])
        ds.SharedFunctionalGroupsSequence = Sequence([shared])
        frames = []
        for f, k in enumerate(order):
            fg = Dataset()
            pp = Dataset()
            pp.ImagePositionPatient = [float(v) for v in origin + normal * offsets[k]]
            fg.PlanePositionSequence = Sequence([pp])
            frames.append(fg)
        ds.PerFrameFunctionalGroupsSequence = Sequence(frames)
        ds.PixelData = np.ascontiguousarray(np.stack([vol[:, :, k].T for k in order])).astype("<i2").tobytes()
        ds.save_as(path, write_like_original=False)
        return

    for n, k in enumerate(order):
        name = f"IM{rng.randrange(10**6):06d}" if a.scramble else f"slice{k:04d}.dcm"
        path = os.path.join(a.out, name)
        ds = base_dataset(path, sop, a.syntax, a.modality, study, series)
        ds.Rows, ds.Columns = ny, nx
        ds.PixelSpacing = [sy, sx]
        ds.SliceThickness = sz
        ds.ImageOrientationPatient = [float(v) for v in (*row, *col)]
        pos = origin + normal * offsets[k] + col * tilt_shift * k
        ds.ImagePositionPatient = [float(v) for v in pos]
        ds.InstanceNumber = (n + 1) if a.scramble else (k + 1)
        ds.SliceLocation = float(offsets[k])
        if a.tilt:
            ds.GantryDetectorTilt = a.tilt
        px = np.ascontiguousarray(vol[:, :, k].T)  # DICOM rows are y, columns are x
        ds.PixelData = px.astype(">i2" if a.syntax == "bigendian" else "<i2").tobytes()
        ds.save_as(path, write_like_original=False)


if __name__ == "__main__":
    main()
