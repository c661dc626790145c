"""Evaluation data in HLIP's layout, written with Debian's python3-torch, and a raw-layout twin (NIfTI via nibabel).

usage: make_eval_data.py OUT SET N D H W SEED [--bad] [--no-raw]
  OUT/hlip/<study>/<scan>/img.pt   uint8 [D, H, W] saved with torch.save (mri, ct, ctrate)
  OUT/hlip/<study>/<file>.pt       uint8 [d, h, w] of varying size, some 4-D (pubbrain5: the loader resizes)
  OUT/hlip/RSNA_<study>/<uid>/<file>.pt  (rsna: one or two series per row)
  OUT/raw/<study>/<scan>.nii.gz    the same studies as NIfTI volumes (float32, 1.2 x 1 x 1 mm)
  OUT/labels.csv                   study + one 0/1 column per class of the set (models/zeroshot.json)
  OUT/listdir.json                 os.listdir order of every study folder (the order HLIP's loader takes)
--bad adds: a row without a folder, a float32 img.pt, a wrong-shape img.pt, a label "2", an extra CSV column.
"""
import json
import os
import sys

import nibabel as nib
import numpy as np
import torch

out, set_id, n, D, H, W, seed = sys.argv[1], sys.argv[2], int(sys.argv[3]), int(sys.argv[4]), int(sys.argv[5]), int(sys.argv[6]), int(sys.argv[7])
bad = "--bad" in sys.argv
with_raw = "--no-raw" not in sys.argv
root = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
classes = json.load(open(os.path.join(root, "models", "zeroshot.json")))["sets"][set_id]["classnames"]
rng = np.random.default_rng(seed)
hlip = os.path.join(out, "hlip")
raw = os.path.join(out, "raw")
os.makedirs(hlip, exist_ok=True)


def volume(shape):
    # Smooth blobs so the volumes look like something (and pre-processing has structure to keep).
    z, y, x = np.meshgrid(*[np.linspace(-1, 1, s) for s in shape], indexing="ij")
    c = rng.uniform(-0.5, 0.5, 3)
    v = np.exp(-((z - c[0]) ** 2 + (y - c[1]) ** 2 + (x - c[2]) ** 2) * rng.uniform(2, 8))
    v = v + 0.1 * rng.standard_normal(shape)
    return np.clip(v / v.max() * 255, 0, 255).astype(np.uint8)


rows = []
listing = {}
for i in range(n):
    study = f"sub-{i:03d}"
    if set_id == "pubbrain5":
        label = np.zeros(5, dtype=int)
        label[rng.integers(0, 5)] = 1
    else:
        label = (rng.random(len(classes)) < 0.4).astype(int)
        label[i % len(classes)] = 1  # every column gets positives...
        label[(i + 1) % len(classes)] = 0  # ...and negatives
    rows.append([study] + [str(v) for v in label])
    folder = f"RSNA_{study}" if set_id == "rsna" else study
    series = [f"1.2.{i}.{k}" for k in range(1 + i % 2)] if set_id == "rsna" else [None]
    for uid in series:
        sdir = os.path.join(hlip, folder, uid) if uid else os.path.join(hlip, folder)
        os.makedirs(sdir, exist_ok=True)
        for s in range(1 + (i % 3)):
            name = f"scan{(7 * s + i) % 5}"  # creation order differs from name order
            if set_id == "pubbrain5":
                shape = (int(rng.integers(20, 40)), int(rng.integers(40, 80)), int(rng.integers(40, 80)))
                img = torch.from_numpy(volume(shape))
                if s == 1:
                    img = img[..., None].repeat(1, 1, 1, 2)
                torch.save(img, os.path.join(sdir, f"{name}.pt"))
            elif set_id == "rsna":
                torch.save(torch.from_numpy(volume((D, H, W))), os.path.join(sdir, f"{name}.pt"))
            else:
                os.makedirs(os.path.join(sdir, name), exist_ok=True)
                torch.save(torch.from_numpy(volume((D, H, W))), os.path.join(sdir, name, "img.pt"))
            if not uid and with_raw:
                os.makedirs(os.path.join(raw, study), exist_ok=True)
                vol = volume((W + 8, H + 8, D + 4)).astype(np.float32)  # x, y, z in NIfTI order
                nib.save(nib.Nifti1Image(vol, np.diag([1.0, 1.0, 1.2, 1.0])), os.path.join(raw, study, f"{name}.nii.gz"))
        listing[f"{folder}/{uid}" if uid else folder] = os.listdir(sdir)

header = ["study"] + classes
if bad:
    rows.append(["sub-missing"] + ["0"] * len(classes))
    for name, arr in [("sub-float", torch.rand(D, H, W)), ("sub-shape", torch.zeros(D, H + 1, W, dtype=torch.uint8))]:
        os.makedirs(os.path.join(hlip, name, "s0"), exist_ok=True)
        torch.save(arr, os.path.join(hlip, name, "s0", "img.pt"))
        rows.append([name] + ["0"] * len(classes))
    rows.append(["sub-label2", "2"] + ["0"] * (len(classes) - 1))
    header.append("Extra column")
    rows = [r + ["x"] for r in rows]

with open(os.path.join(out, "labels.csv"), "w") as f:
    f.write(",".join(f'"{h}"' if "," in h else h for h in header) + "\n")
    for r in rows:
        f.write(",".join(r) + "\n")
json.dump(listing, open(os.path.join(out, "listdir.json"), "w"))
