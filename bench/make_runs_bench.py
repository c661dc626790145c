"""Logs tree for npm run bench:runs: RUNS runs x EPOCHS epochs of a full-size HLIP model (ViT-B visual, BERT-base
text: ~200M parameters), each epoch file the size torch.save writes for {epoch, name, state_dict, optimizer (AdamW
exp_avg + exp_avg_sq), scaler}: about 2.4 GB. The zip structure and data.pkl are real (Python's pickle, the object
graph torch.save pickles, torch's persistent ids); the storages are holes (sparse files), so the tree costs a few
hundred MB of disk, not a terabyte. Each run also gets params.txt, out.log (a line per 16 steps) and results.jsonl.

usage: /usr/bin/python3 bench/make_runs_bench.py OUT_DIR [RUNS EPOCHS]
"""
import collections
import io
import json
import math
import os
import pickle
import struct
import sys
import zlib

import torch

sys.dont_write_bytecode = True
ROOT = os.path.abspath(os.path.join(os.path.dirname(__file__), '..'))
sys.path.insert(0, os.path.join(ROOT, 'tools', 'hlip_ref'))
from model import HLIPClip, TextCfg, VisualCfg, schedule_of  # noqa: E402

VARIANT = 'vit_base_multiscan_h2_token1176'


def full_size_shapes():
    """Names and shapes of the real model's state dict (built once with torch's lazy allocation, then dropped)."""
    with open(os.path.join(ROOT, 'models', 'hlip-variants.json')) as f:
        v = json.load(f)['variants'][VARIANT]
    vcfg = VisualCfg(name=VARIANT, depth=v['depth'], embed_dim=v['embed_dim'], num_heads=v['num_heads'], img_size=tuple(v['img_size']),
                     patch_size=tuple(v['patch_size']), max_num_scans=v['max_num_scans'], pool=v['pool'], reg_tokens=v['reg_tokens'],
                     schedule=schedule_of(v['depth'], v['slice_attn_indexes'], v['scan_attn_indexes'], v['study_attn_indexes']), proj_dim=512)
    tcfg = TextCfg(vocab_size=30522, hidden=768, layers=12, heads=12, intermediate=3072, max_positions=512, type_vocab=2, proj_dim=512)
    torch.nn.Module.register_parameter  # noqa: B018  (the model is built on CPU; its values are never read)
    model = HLIPClip(vcfg, tcfg, logit_bias=False)
    shapes = collections.OrderedDict((k, tuple(t.shape)) for k, t in model.state_dict().items())
    del model
    return shapes


class Storage:
    def __init__(self, key, numel):
        self.key, self.numel = key, numel


class Tensor:
    """Pickles as torch.Tensor does: torch._utils._rebuild_tensor_v2(storage, offset, size, stride, requires_grad, hooks)."""

    def __init__(self, storage, shape):
        self.storage, self.shape = storage, shape

    def __reduce__(self):
        stride, acc = [], 1
        for d in reversed(self.shape):
            stride.insert(0, acc)
            acc *= d
        return torch._utils._rebuild_tensor_v2, (self.storage, 0, tuple(self.shape), tuple(stride), False, collections.OrderedDict())


class TorchPickler(pickle.Pickler):
    """torch.save's persistent ids: ('storage', torch.FloatStorage, key, 'cpu', numel)."""

    def persistent_id(self, obj):
        if isinstance(obj, Storage):
            return ('storage', torch.FloatStorage, obj.key, 'cpu', obj.numel)
        return None


def checkpoint_object(shapes, epoch, name):
    storages = []

    def tensor(shape):
        s = Storage(str(len(storages)), math.prod(shape) if shape else 1)
        storages.append(s)
        return Tensor(s, shape)

    sd = collections.OrderedDict(('module.' + k, tensor(shape)) for k, shape in shapes.items())
    names = list(shapes)
    excl = [i for i, n in enumerate(names) if len(shapes[n]) < 2 or 'bias' in n or 'logit_scale' in n]
    rest = [i for i in range(len(names)) if i not in set(excl)]
    state = {i: {'step': tensor(()), 'exp_avg': tensor(shapes[names[i]]), 'exp_avg_sq': tensor(shapes[names[i]])} for i in excl + rest}
    group = lambda params, wd: {'lr': 0.0003, 'betas': (0.9, 0.98), 'eps': 1e-06, 'weight_decay': wd, 'amsgrad': False,  # noqa: E731
                                'foreach': None, 'maximize': False, 'capturable': False, 'differentiable': False, 'fused': None,
                                'params': params}
    opt = {'state': state, 'param_groups': [group(excl, 0.0), group(rest, 0.2)]}
    obj = {'epoch': epoch, 'name': name, 'state_dict': sd, 'optimizer': opt,
           'scaler': {'scale': 65536.0, 'growth_factor': 2.0, 'backoff_factor': 0.5, 'growth_interval': 2000, '_growth_tracker': 0}}
    buf = io.BytesIO()
    TorchPickler(buf, protocol=2).dump(obj)
    return buf.getvalue(), storages


CRC_OF_ZEROS = {}


def zeros_crc(n):
    """CRC-32 of n zero bytes (the holes read back as zeros), computed once per size."""
    if n not in CRC_OF_ZEROS:
        crc, chunk, left = 0, bytes(1 << 20), n
        while left:
            k = min(left, len(chunk))
            crc = zlib.crc32(chunk[:k] if k < len(chunk) else chunk, crc)
            left -= k
        CRC_OF_ZEROS[n] = crc
    return CRC_OF_ZEROS[n]


def write_zip(path, archive, pkl, storages):
    """A stored (uncompressed) zip as torch's writer lays it out: records under `<archive>/`, storages 64-byte aligned."""
    entries = []
    with open(path, 'wb') as f:
        def add(name, data=None, size=None, crc=None):
            nb = f'{archive}/{name}'.encode()
            off = f.tell()
            pad = (-(off + 30 + len(nb) + 4)) % 64
            extra = struct.pack('<HH', 0x4246, pad) + bytes(pad)  # torch's "FB" padding field
            size = len(data) if data is not None else size
            crc = zlib.crc32(data) if data is not None else crc
            f.write(struct.pack('<IHHHHHIIIHH', 0x04034b50, 20, 0, 0, 0, 0x21, crc, size, size, len(nb), len(extra)) + nb + extra)
            if data is not None:
                f.write(data)
            else:
                f.seek(size, 1)  # a hole: the storage bytes are never written
            entries.append((nb, off, size, crc, extra))
        add('data.pkl', pkl)
        add('byteorder', b'little')
        for s in storages:
            n = 4 * s.numel
            add(f'data/{s.key}', size=n, crc=zeros_crc(n))
        add('version', b'3\n')
        cd = f.tell()
        for nb, off, size, crc, extra in entries:
            f.write(struct.pack('<IHHHHHHIIIHHHHHII', 0x02014b50, 20, 20, 0, 0, 0, 0x21, crc, size, size, len(nb), len(extra), 0, 0, 0, 0, off) + nb + extra)
        end = f.tell()
        f.write(struct.pack('<IHHHHIIH', 0x06054b50, 0, 0, len(entries), len(entries), end - cd, cd, 0))


def main():
    out = os.path.abspath(sys.argv[1])
    runs = int(sys.argv[2]) if len(sys.argv) > 2 else 20
    epochs = int(sys.argv[3]) if len(sys.argv) > 3 else 25
    shapes = full_size_shapes()
    for r in range(runs):
        name = f'ablate-{r:02d}-pd{[25, 50, 75][r % 3]}'
        run = os.path.join(out, 'logs', name)
        ck = os.path.join(run, 'checkpoints')
        os.makedirs(ck, exist_ok=True)
        pd = [0.25, 0.5, 0.75][r % 3]
        with open(os.path.join(run, 'params.txt'), 'w') as f:
            args = {'accum_batch': 4, 'batch_size': 16, 'epochs': epochs, 'force_patch_dropout': pd, 'lr': 0.0006,
                    'model': 'clip_' + VARIANT, 'mri': {'data_root': '/data/mri', 'input_file': 'test.csv'}, 'ct': {},
                    'name': name, 'num_scans': 10 if r % 2 else 8, 'precision': 'amp', 'seed': r, 'warmup': 1000, 'wd': 0.2,
                    'world_size': 8, 'zeroshot_frequency': 1, 'logs_dir': os.path.join(out, 'logs')}
            for k in sorted(args):
                f.write(f'{k}: {args[k]}\n')
        steps, samples = 1600, 819200
        with open(os.path.join(run, 'out.log'), 'w') as f, open(os.path.join(ck, 'results.jsonl'), 'w') as res:
            for e in range(epochs):
                for i in range(0, steps, 16):
                    step = e * steps + i
                    lr = 0.0006 * min(1, (step + 1) / 1000) * 0.5 * (1 + math.cos(math.pi * step / (steps * epochs)))
                    loss = 5 * math.exp(-step / (steps * epochs) * (2 + pd)) + 0.1
                    f.write(f'2025-01-01,00:00:00 | INFO | root | Train Epoch: {e} [{(i + 1) * 512:>6}/{samples} ({100 * (i + 1) / steps:.0f}%)] '
                            f'Data (t): 0.012 Batch (t): 0.845, 605.917/s, 75.7396/s/gpu LR: {lr:5f} Logit Scale (Sentence): 14.286 '
                            f'Logit Scale (Report): 0.000 Contrastive_loss: {loss:#.5g} ({loss + 0.01:#.5g})\n')
                m = {'auc (mri)': 0.6 + 0.2 * (1 - math.exp(-(e + 1) / 8)) - 0.02 * pd, 'epoch': e + 1}
                f.write(f'2025-01-01,00:00:00 | INFO | root | Eval Epoch: {e + 1} auc (mri): {m["auc (mri)"]:.4f}\n')
                res.write(json.dumps(m) + '\n')
        for e in range(1, epochs + 1):
            pkl, storages = checkpoint_object(shapes, e, name)
            write_zip(os.path.join(ck, f'epoch_{e}.pt'), f'epoch_{e}', pkl, storages)
    print(json.dumps({'runs': runs, 'epochs': epochs, 'parameters': sum(math.prod(s) for s in shapes.values())}))


if __name__ == '__main__':
    main()
