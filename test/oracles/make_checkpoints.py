"""Writes real torch.save checkpoints (and reference dumps of their tensors) for test/unit/checkpoint.test.ts.

usage: make_checkpoints.py OUT_DIR
For every case X: X.pt (or X.safetensors) and X.ref.json + X.ref.bin, the exact bytes of each tensor in C order
(bfloat16 as its int16 bit pattern), keyed by the names the loader should return.
"""
import collections
import json
import os
import pickle
import struct
import subprocess
import sys
import zipfile

import torch

out = sys.argv[1]
os.makedirs(out, exist_ok=True)
g = torch.Generator().manual_seed(1234)


def rand(*shape, dtype=torch.float32):
    return torch.randn(*shape, generator=g).to(dtype)


def hlip_state_dict(C=32, depth=3, patch=(6, 16, 16), grid=(8, 14, 14), E=24, dinotxt=True, reg=0, seq=0, H=16,
                    layers=2, vocab=50, text=True):
    sd = collections.OrderedDict()
    sd['visual.trunk.cls_token'] = rand(1, 1, C)
    if reg:
        sd['visual.trunk.reg_token'] = rand(1, reg, C)
    sd['visual.trunk.spatial_posemb'] = rand(1, *grid, C)
    if seq:
        sd['visual.trunk.sequential_posemb'] = rand(1, seq, C)
    sd['visual.trunk.patch_embed.proj.weight'] = rand(C, 1, *patch)
    sd['visual.trunk.patch_embed.proj.bias'] = rand(C)
    for b in range(depth):
        p = f'visual.trunk.blocks.{b}.'
        for n, shape in [('norm1', [C]), ('attn.qkv', [3 * C, C]), ('attn.proj', [C, C]), ('norm2', [C]),
                         ('mlp.fc1', [4 * C, C]), ('mlp.fc2', [C, 4 * C])]:
            sd[p + n + '.weight'] = rand(*shape)
            sd[p + n + '.bias'] = rand(shape[0])
    sd['visual.trunk.norm.weight'] = rand(C)
    sd['visual.trunk.norm.bias'] = rand(C)
    sd['visual.head.proj.weight'] = rand(E, 2 * C if dinotxt else C)
    if text:
        e = 'text.transformer.embeddings.'
        sd[e + 'word_embeddings.weight'] = rand(vocab, H)
        sd[e + 'position_embeddings.weight'] = rand(256, H)
        sd[e + 'token_type_embeddings.weight'] = rand(2, H)
        sd[e + 'LayerNorm.weight'] = rand(H)
        sd[e + 'LayerNorm.bias'] = rand(H)
        for l in range(layers):
            p = f'text.transformer.encoder.layer.{l}.'
            for n, shape in [('attention.self.query', [H, H]), ('attention.self.key', [H, H]),
                             ('attention.self.value', [H, H]), ('attention.output.dense', [H, H]),
                             ('attention.output.LayerNorm', [H]), ('intermediate.dense', [4 * H, H]),
                             ('output.dense', [H, 4 * H]), ('output.LayerNorm', [H])]:
                sd[p + n + '.weight'] = rand(*shape)
                sd[p + n + '.bias'] = rand(shape[0])
        sd['text.transformer.pooler.dense.weight'] = rand(H, H)
        sd['text.transformer.pooler.dense.bias'] = rand(H)
        sd['text.proj.weight'] = rand(E, H)
    sd['logit_scale'] = torch.tensor(2.6592)
    if reg:
        sd['logit_bias'] = torch.tensor(-10.0)
    return sd


def raw(t):
    t = t.detach().contiguous()
    if t.dtype == torch.bfloat16:
        t = t.view(torch.int16)
    return t.numpy().tobytes()


DT = {torch.float32: 'float32', torch.float16: 'float16', torch.bfloat16: 'bfloat16', torch.float64: 'float64',
      torch.int64: 'int64', torch.int32: 'int32', torch.int16: 'int16', torch.int8: 'int8', torch.uint8: 'uint8',
      torch.bool: 'bool'}


def write_ref(name, tensors):
    index, blob = {}, bytearray()
    for k, t in tensors.items():
        b = raw(t)
        index[k] = {'dtype': DT[t.dtype], 'shape': list(t.shape), 'offset': len(blob), 'nbytes': len(b)}
        blob += b
    with open(os.path.join(out, name + '.ref.json'), 'w') as f:
        json.dump(index, f)
    with open(os.path.join(out, name + '.ref.bin'), 'wb') as f:
        f.write(blob)


def as_module_state_dict(sd):
    """A real nn.Module's state_dict(): an OrderedDict carrying _metadata (pickled with BUILD)."""
    root = torch.nn.Module()
    for k, v in sd.items():
        *path, leaf = k.split('.')
        m = root
        for p in path:
            if not hasattr(m, p):
                m.add_module(p, torch.nn.Module())
            m = getattr(m, p)
        m.register_parameter(leaf, torch.nn.Parameter(v.clone()))
    return root.state_dict()


def save(name, obj, **kw):
    torch.save(obj, os.path.join(out, name), **kw)


# 1. A full state dict as open_clip's model.state_dict() gives it.
full = as_module_state_dict(hlip_state_dict())
save('full.pt', full)
write_ref('full', full)

# 2. An open_clip training checkpoint: epoch, name, DataParallel keys, a real Adam optimizer state, scaler.
params = [torch.nn.Parameter(v.clone()) for v in full.values()]
opt = torch.optim.AdamW(params, lr=1e-4, betas=(0.9, 0.98), eps=1e-6, weight_decay=0.2)
sum((p.float() ** 2).sum() for p in params).backward()
opt.step()
train_sd = collections.OrderedDict(('module.' + k, p.detach()) for k, p in zip(full.keys(), params))
save('train.pt', {'epoch': 5, 'name': 'hlip-run', 'state_dict': train_sd, 'optimizer': opt.state_dict(),
                  'scaler': {'scale': 65536.0, 'growth_factor': 2.0, 'backoff_factor': 0.5, 'growth_interval': 2000,
                             '_growth_tracker': 0}, 'big': 2 ** 70, 'neg': -3, 'flags': [True, False, None, 1.5, b'ab']})
write_ref('train', collections.OrderedDict((k[len('module.'):], v) for k, v in train_sd.items()))

# 3. Visual tower only (patch 8, token pool, sequence embedding), saved as Parameters (_rebuild_parameter).
vis = hlip_state_dict(patch=(8, 16, 16), grid=(6, 14, 14), dinotxt=False, seq=40, text=False)
save('visual_only.pt', {'model': collections.OrderedDict((k, torch.nn.Parameter(v)) for k, v in vis.items())})
write_ref('visual_only', vis)

# 4. Every dtype a checkpoint may hold, half-precision included.
dtypes = collections.OrderedDict()
dtypes['f16'] = rand(3, 5, dtype=torch.float16)
dtypes['bf16'] = rand(4, 3, dtype=torch.bfloat16)
dtypes['f64'] = rand(7, dtype=torch.float64)
dtypes['i64'] = torch.tensor([-(2 ** 62), -1, 0, 2 ** 40], dtype=torch.int64)
dtypes['i32'] = torch.tensor([-(2 ** 31), 5, 2 ** 31 - 1], dtype=torch.int32)
dtypes['i16'] = torch.tensor([-32768, 7, 32767], dtype=torch.int16)
dtypes['i8'] = torch.tensor([-128, 1, 127], dtype=torch.int8)
dtypes['u8'] = torch.tensor([0, 200, 255], dtype=torch.uint8)
dtypes['b'] = torch.tensor([True, False, True])
dtypes['scalar'] = torch.tensor(3.5)
dtypes['empty'] = torch.zeros(0, 4)
save('dtypes.pt', dtypes)
write_ref('dtypes', dtypes)

# 5. Views: a transpose, slices sharing one storage, an expand (stride 0), a permuted 3-D tensor.
base = torch.arange(24, dtype=torch.float32).reshape(4, 6)
b3 = rand(2, 3, 4)
views = collections.OrderedDict([('base', base), ('t', base.t()), ('row', base[2]), ('col', base[:, 3]),
                                 ('sub', base[1:3, 2:5]), ('exp', torch.arange(3.).reshape(3, 1).expand(3, 4)),
                                 ('perm', b3.permute(2, 0, 1)), ('half_t', rand(3, 5, dtype=torch.float16).t())])
save('views.pt', views)
write_ref('views', views)

# 6. Legacy (pre-1.6) serialisation.
save('legacy.pt', full, _use_new_zipfile_serialization=False)

# 7. Malicious pickles: os.system / builtins.eval / subprocess.Popen via __reduce__, inside an otherwise real checkpoint.
marker = os.path.join(out, 'PWNED')


class System:
    def __reduce__(self):
        return (os.system, (f'touch {marker}',))


class Eval:
    def __reduce__(self):
        return (eval, (f"open({marker!r}, 'w').close()",))


class Popen:
    def __reduce__(self):
        return (subprocess.Popen, (['touch', marker],))


for cls, proto in [(System, 2), (Eval, 2), (Popen, 4)]:
    save(f'evil-{cls.__name__.lower()}.pt', {'state_dict': full, 'payload': cls()}, pickle_protocol=proto)
# Proof that the payloads are live: torch.load (unrestricted) of one with another marker runs the command.
proof = os.path.join(out, 'PAYLOAD_RAN')
marker, real_marker = proof, marker
save('evil-proof.pt', {'payload': System()})
torch.load(os.path.join(out, 'evil-proof.pt'))
marker = real_marker
# The same payload as a hand-made zip with a deflated data.pkl (no torch writer involved).
with zipfile.ZipFile(os.path.join(out, 'evil-deflate.pt'), 'w', zipfile.ZIP_DEFLATED) as z:
    z.writestr('archive/data.pkl', pickle.dumps({'x': System()}, protocol=2))
    z.writestr('archive/version', '3\n')

# 8. The torch zip rewritten as ZIP64 (central-directory extras + ZIP64 end record) and with deflate.
zipfile.ZIP64_LIMIT = 64  # forces the ZIP64 structures real >4 GB checkpoints have, on a small file
for name, method in [('zip64.pt', zipfile.ZIP_STORED), ('deflate.pt', zipfile.ZIP_DEFLATED)]:
    with zipfile.ZipFile(os.path.join(out, 'full.pt')) as src, zipfile.ZipFile(os.path.join(out, name), 'w', method) as dst:
        for info in src.infolist():
            dst.writestr(info.filename, src.read(info.filename))
zipfile.ZIP64_LIMIT = (1 << 31) - 1

# 9. safetensors written from the format's spec (not by our writer): unpadded header, so data is unaligned.
def write_safetensors(path, tensors, metadata, pad):
    header, offset, blobs = {}, 0, []
    st = {torch.float32: 'F32', torch.float16: 'F16', torch.bfloat16: 'BF16', torch.float64: 'F64', torch.int64: 'I64',
          torch.int32: 'I32', torch.int16: 'I16', torch.int8: 'I8', torch.uint8: 'U8', torch.bool: 'BOOL'}
    if metadata:
        header['__metadata__'] = metadata
    for k, t in tensors.items():
        b = raw(t)
        header[k] = {'dtype': st[t.dtype], 'shape': list(t.shape), 'data_offsets': [offset, offset + len(b)]}
        offset += len(b)
        blobs.append(b)
    h = json.dumps(header, separators=(',', ':')).encode()
    if pad:
        h += b' ' * (-(len(h) + 8) % 8)
    elif (len(h) + 8) % 8 == 0:
        h += b' '  # make the data start odd on purpose
    with open(path, 'wb') as f:
        f.write(struct.pack('<Q', len(h)))
        f.write(h)
        for b in blobs:
            f.write(b)


py_st = collections.OrderedDict(list(full.items())[:6])
py_st.update((k, v) for k, v in dtypes.items() if k not in ('empty',))
write_safetensors(os.path.join(out, 'py.safetensors'), py_st, {'format': 'pt', 'who': 'make_checkpoints.py'}, pad=False)
write_ref('py', py_st)
os.makedirs(os.path.join(out, 'hf'), exist_ok=True)
write_safetensors(os.path.join(out, 'hf', 'model.safetensors'), full, {'format': 'pt'}, pad=True)

# 10. A ResNet-like state dict: readable, but not HLIP.
resnet = collections.OrderedDict([('conv1.weight', rand(8, 3, 7, 7)), ('bn1.weight', rand(8)), ('bn1.bias', rand(8)),
                                  ('layer1.0.conv1.weight', rand(8, 8, 3, 3)), ('fc.weight', rand(10, 8))])
save('resnet.pt', resnet)
print(json.dumps({'marker': marker, 'proof': proof}))
