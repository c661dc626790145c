"""Writes webview/colormap-tables.json: matplotlib's published 256-entry tables (viridis, inferno, magma: the listed
data of matplotlib._cm_listed; hot: its segment data sampled at 256 points), as 8-bit RGB hex strings.

    /usr/bin/python3 tools/colormaps/make_tables.py webview/colormap-tables.json

The unit test test/unit/colormaps.test.ts runs it again and compares, so the file cannot drift from matplotlib.
"""
import json
import sys

import matplotlib
import numpy as np
from matplotlib import colormaps

NAMES = ["viridis", "inferno", "magma", "hot"]


def table(name):
    rgba = colormaps[name](np.linspace(0.0, 1.0, 256))
    rgb = np.round(rgba[:, :3] * 255).astype(np.uint8)
    return rgb.tobytes().hex()


out = {"source": f"matplotlib {matplotlib.__version__} (tools/colormaps/make_tables.py)", "tables": {n: table(n) for n in NAMES}}
with open(sys.argv[1], "w") as f:
    json.dump(out, f, indent=1)
    f.write("\n")
