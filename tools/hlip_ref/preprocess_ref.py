#!/usr/bin/python3
"""Independent reference of HLIP's pre-processing (numpy / nibabel / pydicom / torch, no SimpleITK), for parity tests
of src/hlip/preprocess/study-input.ts.

It follows HLIP's own code line by line where it can:
  MRI   data/pub_brain_5/*/process.py: reorient 'RPI' + GetArrayFromImage, transpose2dhw, clip_by_percentile;
        the stored uint8 (the conversion is unpublished: --quantize trunc = astype(np.uint8), round, none);
        src/hlip_test/zeroshot_pubbrain5.py: /255, pad to square, bilinear 256, nearest-exact depth, crop, normalise.
  head CT: each window -> [0, 1] clipped -> uint8 -> the MRI geometry (HLIP's head CT pre-processing is unpublished).
  chest CT data/ct_rate/process.py + src/hlip_test/zeroshot_ct_rate.py: trilinear to (3, 1, 1) mm, window
        [-1150, 350], centred pad / crop to 112 x 336 x 336, normalise.
SimpleITK's DICOMOrientImageFilter('RPI') names the sides the axes grow TOWARD (x -> Right, y -> Posterior,
z -> Inferior); nibabel's axis codes mean the same, so the RPI array is nibabel's ('R', 'P', 'I') reorientation
transposed to (z, y, x).

usage:
  preprocess_ref.py jobs JOBS.json      JOBS: [{"inputs": [PATH | "dicom:DIR"], "protocol": "mri"|"head-ct"|"chest-ct",
                                         "out": BASE, "quantize": "trunc", "imgSize": [D, H, W],
                                         "windows": [[name, center, width], ...]}]
                                         writes BASE.f32 (float32 [1, N, 1, D, H, W]) and BASE.json
  preprocess_ref.py phantom OUT.nii.gz --code ASL --dims X Y Z --spacing SX SY SZ [--dtype int16|float32|uint8]
                                         [--scale SLOPE INTER] [--oblique DEG]
"""
import argparse
import json
import os
import sys

import numpy as np

IMAGENET_DEFAULT_MEAN = (0.485, 0.456, 0.406)
IMAGENET_DEFAULT_STD = (0.229, 0.224, 0.225)
CHEST_HU = (-1150.0, 350.0)
CHEST_SPACING = (3, 1, 1)


# ---------------------------------------------------------------- loading: arrays as SimpleITK would hand them over
def real_values(raw, slope, inter):
    """ITK reads a scaled image as float32 (stored * slope + inter); an unscaled one keeps its type."""
    if slope in (0.0, 1.0) and inter == 0.0 or slope is None or np.isnan(slope):
        return raw
    return (raw.astype(np.float64) * slope + inter).astype(np.float32)


def load_nifti(path):
    import nibabel as nib

    img = nib.load(path)
    raw = np.asanyarray(img.dataobj.get_unscaled())
    warnings = []
    if raw.ndim > 3:
        raw = raw.reshape(raw.shape[:3] + (-1,))[..., 0]
        warnings.append("frame 0")
    slope, inter = img.dataobj.slope, img.dataobj.inter
    arr = real_values(raw, float(slope), float(inter))
    zooms = np.array(img.header.get_zooms()[:3], dtype=np.float64)
    return arr, img.affine, zooms, warnings


def load_dicom_dir(folder):
    import pydicom

    dss = [pydicom.dcmread(os.path.join(folder, f)) for f in sorted(os.listdir(folder))]
    iop = np.array(dss[0].ImageOrientationPatient, dtype=np.float64)
    row, col = iop[:3], iop[3:]
    normal = np.cross(row, col)
    dss.sort(key=lambda d: float(np.dot(normal, np.array(d.ImagePositionPatient, dtype=np.float64))))
    ps = [float(v) for v in dss[0].PixelSpacing]  # (row spacing, column spacing)
    raw = np.stack([d.pixel_array.T for d in dss], axis=-1)  # [i = column, j = row, k = slice]
    p0 = np.array(dss[0].ImagePositionPatient, dtype=np.float64)
    if len(dss) > 1:
        step = (np.array(dss[-1].ImagePositionPatient, dtype=np.float64) - p0) / (len(dss) - 1)
    else:
        thick = float(getattr(dss[0], "SpacingBetweenSlices", 0) or getattr(dss[0], "SliceThickness", 0) or 1)
        step = normal * thick
    lps = np.eye(4)
    lps[:3, 0] = row * ps[1]
    lps[:3, 1] = col * ps[0]
    lps[:3, 2] = step
    lps[:3, 3] = p0
    ras = np.diag([-1.0, -1.0, 1.0, 1.0]) @ lps
    slope = float(getattr(dss[0], "RescaleSlope", 1) or 1)
    inter = float(getattr(dss[0], "RescaleIntercept", 0) or 0)
    arr = real_values(raw, slope, inter)
    zooms = np.sqrt((ras[:3, :3] ** 2).sum(axis=0))
    return arr, ras, zooms, []


def load(spec):
    return load_dicom_dir(spec[6:]) if spec.startswith("dicom:") else load_nifti(spec)


def rpi_array(arr, affine, zooms):
    """sitk DICOMOrient(img, 'RPI') + GetArrayFromImage: (z, y, x) array and the sitk (x, y, z) spacing."""
    from nibabel.orientations import apply_orientation, axcodes2ornt, io_orientation, ornt_transform

    ornt = io_orientation(affine)
    xform = ornt_transform(ornt, axcodes2ornt(("R", "P", "I")))
    out = apply_orientation(arr, xform)
    spacing = np.zeros(3)
    for src_axis, (dst_axis, _) in enumerate(xform):
        spacing[int(dst_axis)] = zooms[src_axis]
    return np.ascontiguousarray(out.transpose(2, 1, 0)), spacing


# ---------------------------------------------------------------- HLIP's own steps (process.py)
def transpose2dhw(img_arr, spacing_sitk):
    spacing_array = spacing_sitk[::-1]
    side = np.argmax(spacing_array)
    if side == 1:
        img_arr = np.transpose(img_arr, (1, 0, 2))
    elif side == 2:
        img_arr = np.transpose(img_arr, (2, 0, 1))
    return img_arr


def clip_by_percentile(img, min, max):
    lower = np.percentile(img, min)
    upper = np.percentile(img, max)
    img = np.clip(img, lower, upper)
    img = (img - img.min()) / (img.max() - img.min() + 1e-8)
    return img


def store(img01, quantize):
    if quantize == "trunc":
        return (img01 * 255).astype(np.uint8)
    if quantize == "round":
        return np.round(img01 * 255).astype(np.uint8)
    return img01


# ---------------------------------------------------------------- loader (zeroshot_pubbrain5.py), sizes generalised
def brain_geometry(stored, img_size):
    import torch

    img = torch.from_numpy(np.ascontiguousarray(stored))
    img = img.float() / 255.0 if img.dtype == torch.uint8 else img.float()
    _, h, w = img.shape
    size = max(h, w)
    pad_h = size - h
    pad_w = size - w
    left = pad_w // 2
    right = pad_w - left
    top = pad_h // 2
    bottom = pad_h - top
    img = torch.nn.functional.pad(img, (left, right, top, bottom), mode="constant", value=0)
    d, hh, ww = img_size
    rh, rw = int(round(hh * 8 / 7)), int(round(ww * 8 / 7))
    ch, cw = (rh - hh) // 2, (rw - ww) // 2
    img = torch.nn.functional.interpolate(img[None, ...], size=(rh, rw), mode="bilinear")[0]
    img = torch.nn.functional.interpolate(img[None, None, ...], size=(d, rh, rw), mode="nearest-exact")[0, 0]
    img = img[:, ch:ch + hh, cw:cw + ww]
    return normalise(img[None, ...])


def normalise(img):
    import torch

    mean = torch.as_tensor(IMAGENET_DEFAULT_MEAN).mean()
    std = torch.as_tensor(IMAGENET_DEFAULT_STD).mean()
    return (img - mean) / std  # torchvision Normalize: sub_(mean).div_(std)


def mri_scan(spec, img_size, quantize):
    arr, affine, zooms, _ = load(spec)
    arr, spacing = rpi_array(arr, affine, zooms)
    arr = transpose2dhw(arr, spacing)
    arr = clip_by_percentile(arr, 0.5, 99.5)
    return [brain_geometry(store(arr, quantize), img_size)]


def head_ct_scans(spec, img_size, quantize, windows):
    arr, affine, zooms, _ = load(spec)
    arr, spacing = rpi_array(arr, affine, zooms)
    arr = transpose2dhw(arr, spacing).astype(np.float64)
    out = []
    for _, center, width in windows:
        x = np.clip((arr - (center - width / 2)) / width, 0.0, 1.0)
        out.append(brain_geometry(store(x, quantize), img_size))
    return out


def chest_ct_scan(spec, img_size):
    import torch

    arr, _, zooms, _ = load(spec)
    img = np.ascontiguousarray(arr.transpose(2, 1, 0))  # GetArrayFromImage, no reorientation
    z, y, x = zooms[2], zooms[1], zooms[0]
    target = (int(img.shape[0] * z / CHEST_SPACING[0] + 1e-3), int(img.shape[1] * y / CHEST_SPACING[1] + 1e-3),
              int(img.shape[2] * x / CHEST_SPACING[2] + 1e-3))
    target = tuple(max(t, 1) for t in target)
    img = torch.nn.functional.interpolate(torch.from_numpy(img).float()[None, None, ...], size=target,
                                          mode="trilinear").squeeze(0).squeeze(0)
    lo, hi = CHEST_HU
    img = (img - lo) / (hi - lo)
    img = torch.clip(img, 0.0, 1.0)
    img = img[None, ...].float()
    D, H, W = img_size
    _, d, h, w = img.shape
    pad_d, pad_h, pad_w = max(D - d, 0), max(H - h, 0), max(W - w, 0)
    pad_d1, pad_d2 = pad_d // 2, pad_d - pad_d // 2
    pad_h1, pad_h2 = pad_h // 2, pad_h - pad_h // 2
    pad_w1, pad_w2 = pad_w // 2, pad_w - pad_w // 2
    img = torch.nn.functional.pad(img[None, ...], (pad_w1, pad_w2, pad_h1, pad_h2, pad_d1, pad_d2),
                                  mode="constant", value=0).squeeze(0)
    _, d, h, w = img.shape
    sd, sh, sw = (d - D) // 2, (h - H) // 2, (w - W) // 2
    img = img[:, sd:sd + D, sh:sh + H, sw:sw + W]
    return [normalise(img)]


def run_jobs(path):
    import torch

    torch.set_num_threads(max(1, min(4, os.cpu_count() or 1)))
    for job in json.load(open(path)):
        protocol = job["protocol"]
        img_size = job.get("imgSize") or ([112, 336, 336] if protocol == "chest-ct" else [48, 224, 224])
        quantize = job.get("quantize", "trunc")
        scans = []
        for spec in job["inputs"]:
            if protocol == "mri":
                scans += mri_scan(spec, img_size, quantize)
            elif protocol == "head-ct":
                scans += head_ct_scans(spec, img_size, quantize, job["windows"])
            else:
                scans += chest_ct_scan(spec, img_size)
        t = torch.stack(scans, dim=0)[None, ...].contiguous()  # [1, N, 1, D, H, W]
        t.numpy().astype(np.float32).tofile(job["out"] + ".f32")
        with open(job["out"] + ".json", "w") as f:
            json.dump({"shape": list(t.shape),
                       "mean": float(torch.as_tensor(IMAGENET_DEFAULT_MEAN).mean()),
                       "std": float(torch.as_tensor(IMAGENET_DEFAULT_STD).mean())}, f)


# ---------------------------------------------------------------- phantoms
AXIS = {"R": (0, 1.0), "L": (0, -1.0), "A": (1, 1.0), "P": (1, -1.0), "S": (2, 1.0), "I": (2, -1.0)}


def phantom(args):
    """Asymmetric head-like phantom stored with the given axis code (letters = sides the voxel axes grow toward).

    World (RAS) regions, u = world position / half-extent per world axis:
      box |u| < 0.8 -> 400 + gradient; R-block ux > 0.55, |uy| < 0.25 -> 1000; A-block uy > 0.55, |ux| < 0.25 -> 2000;
      S-block uz > 0.55, |uy| < 0.25 -> 3000; outside 0.
    """
    import nibabel as nib

    code, dims, sp = args.code.upper(), args.dims, args.spacing
    rot = np.zeros((3, 3))
    for a, letter in enumerate(code):
        w, sign = AXIS[letter]
        rot[w, a] = sign
    if args.oblique:
        t = np.deg2rad(args.oblique)
        rx = np.array([[1, 0, 0], [0, np.cos(t), -np.sin(t)], [0, np.sin(t), np.cos(t)]])
        rot = rx @ rot
    aff = np.eye(4)
    aff[:3, :3] = rot * np.array(sp)[None, :]
    centre = (np.array(dims) - 1) / 2
    aff[:3, 3] = -aff[:3, :3] @ centre
    ii, jj, kk = np.meshgrid(*[np.arange(n) for n in dims], indexing="ij")
    world = np.einsum("ab,bijk->aijk", aff[:3, :3], np.stack([ii, jj, kk]).astype(np.float64) - centre[:, None, None, None])
    half = np.abs(aff[:3, :3]) @ (np.array(dims) / 2)
    ux, uy, uz = world[0] / half[0], world[1] / half[1], world[2] / half[2]
    val = np.zeros(dims)
    inside = (np.abs(ux) < 0.8) & (np.abs(uy) < 0.8) & (np.abs(uz) < 0.8)
    val[inside] = (400 + 150 * ux + 100 * uy + 60 * uz + 80 * np.sin(5 * ux) * np.cos(4 * uy))[inside]
    val[(ux > 0.55) & (np.abs(uy) < 0.25)] = 1000
    val[(uy > 0.55) & (np.abs(ux) < 0.25)] = 2000
    val[(uz > 0.55) & (np.abs(uy) < 0.25)] = 3000
    dtype = np.dtype(args.dtype)
    if args.scale:
        slope, inter = args.scale
        data = np.round((val - inter) / slope).astype(dtype)
    elif dtype.kind == "f":
        data = val.astype(dtype)
    else:
        data = np.round(val * (255 / 3000) if dtype == np.uint8 else val).astype(dtype)
    img = nib.Nifti1Image(data, aff)
    img.header.set_data_dtype(dtype)
    if args.scale:
        img.header.set_slope_inter(*args.scale)
    nib.save(img, args.out)


def main():
    if len(sys.argv) > 1 and sys.argv[1] == "jobs":
        run_jobs(sys.argv[2])
        return
    p = argparse.ArgumentParser()
    p.add_argument("cmd", choices=["phantom"])
    p.add_argument("out")
    p.add_argument("--code", default="LPS")
    p.add_argument("--dims", type=int, nargs=3, default=[40, 48, 24])
    p.add_argument("--spacing", type=float, nargs=3, default=[1.0, 1.0, 3.0])
    p.add_argument("--dtype", default="int16")
    p.add_argument("--scale", type=float, nargs=2)
    p.add_argument("--oblique", type=float, default=0.0)
    phantom(p.parse_args())


if __name__ == "__main__":
    main()
