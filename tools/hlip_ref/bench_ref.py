"""The PyTorch reference as the peer of `npm run bench:hlip`: one forward pass of the visual tower.

    /usr/bin/python3 tools/hlip_ref/bench_ref.py MODEL.safetensors VARIANT SCANS THREADS

Prints one JSON line {ms, peakKiB} or {skipped: reason}. The reference uses explicit attention (torch 1.13 has no fused
kernel), so studies whose attention matrices would not fit in memory are skipped rather than swapping the machine.
"""
import json
import os
import resource
import sys
import time

import torch

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from model import HLIPVisual, VisualCfg, schedule_of  # noqa: E402
from safetensors_io import load_file  # noqa: E402

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))


def main():
    ckpt, name, scans, threads = sys.argv[1], sys.argv[2], int(sys.argv[3]), int(sys.argv[4])
    v = json.load(open(os.path.join(ROOT, 'models', 'hlip-variants.json')))['variants'][name]
    cfg = VisualCfg(
        name=name, depth=v['depth'], embed_dim=v['embed_dim'], num_heads=v['num_heads'], img_size=tuple(v['img_size']),
        patch_size=tuple(v['patch_size']), max_num_scans=v['max_num_scans'], pool=v['pool'], reg_tokens=v['reg_tokens'],
        schedule=schedule_of(v['depth'], v['slice_attn_indexes'], v['scan_attn_indexes'], v['study_attn_indexes']),
        proj_dim=768 if v['pool'] == 'dinotxt' else 512)
    L = cfg.grid[0] * cfg.grid[1] * cfg.grid[2]
    study = cfg.num_prefix + scans * L
    # softmax input and output of one study-level block: heads x T x T float32, twice
    need = 2 * cfg.num_heads * study * study * 4
    budget = float(os.environ.get('BENCH_TORCH_MAX_GB', '8')) * 2 ** 30
    if need > budget:
        print(json.dumps({'skipped': f'explicit attention needs ~{need / 2 ** 30:.1f} GB'}))
        return
    torch.set_num_threads(threads)
    model = HLIPVisual(cfg).eval()
    sd = {k[len('visual.'):]: torch.from_numpy(a) for k, a in load_file(ckpt).items() if k.startswith('visual.')}
    model.load_state_dict(sd)
    x = torch.randn(1, scans, 1, *cfg.img_size, generator=torch.Generator().manual_seed(0))
    with torch.no_grad():
        t0 = time.perf_counter()
        model(x)
        ms = (time.perf_counter() - t0) * 1000
    print(json.dumps({'ms': ms, 'peakKiB': resource.getrusage(resource.RUSAGE_SELF).ru_maxrss}))


if __name__ == '__main__':
    main()
