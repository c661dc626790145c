"""Oracle of HLIP's evaluation loaders (hlip-ablation zeroshot_*.py), written independently with Debian's python3-torch:
the model input of one study as those loaders build it, saved as float32 .npy [1, scans, 1, D, H, W].

usage: hlip_loader.py ROOT SET STUDY OUT.npy     (STUDY as the CSV names it; rsna: "RSNA_<study>/<uid>")
"""
import os
import sys

import numpy as np
import torch

root, set_id, study, out = sys.argv[1:5]
mean = torch.as_tensor([0.485, 0.456, 0.406]).mean()  # timm IMAGENET_DEFAULT_MEAN / STD
std = torch.as_tensor([0.229, 0.224, 0.225]).mean()

d = os.path.join(root, study)
if set_id in ("pubbrain5", "rsna"):
    files = [os.path.join(d, p) for p in os.listdir(d)]
else:
    files = [os.path.join(d, p, "img.pt") for p in os.listdir(d)]
scans = []
for f in files:
    img = torch.load(f)
    if set_id == "pubbrain5":
        if img.dim() == 4:
            img = img[:, :, :, 0]
        img = img.float() / 255.0
        _, h, w = img.shape
        size = max(h, w)
        ph, pw = size - h, size - w
        img = torch.nn.functional.pad(img, (pw // 2, pw - pw // 2, ph // 2, ph - ph // 2), mode="constant", value=0)
        img = torch.nn.functional.interpolate(img[None], size=(256, 256), mode="bilinear")[0]
        img = torch.nn.functional.interpolate(img[None, None], size=(48, 256, 256), mode="nearest-exact")[0, 0]
        img = img[:, 16:240, 16:240]
    else:
        img = img.float() / 255.0
    scans.append(((img - mean) / std)[None])
np.save(out, torch.stack(scans)[None].numpy().astype(np.float32))
