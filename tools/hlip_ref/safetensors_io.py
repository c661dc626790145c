"""Minimal safetensors writer/reader, written from the format description (the `safetensors` package is not available).

Layout: u64 little-endian N | N bytes of UTF-8 JSON header | raw data.
Header: {"__metadata__": {str: str}, name: {"dtype": "F32", "shape": [...], "data_offsets": [begin, end]}, ...}
with offsets relative to the start of the data block; tensors are packed back to back, little-endian, C order.
The header is padded with spaces to a multiple of 8 so every tensor starts 8-aligned (as the reference writer does).
"""
import json
import struct
from typing import Dict, Optional

import numpy as np

_DTYPES = {
    'F64': np.dtype('<f8'), 'F32': np.dtype('<f4'), 'F16': np.dtype('<f2'),
    'I64': np.dtype('<i8'), 'I32': np.dtype('<i4'), 'I16': np.dtype('<i2'), 'I8': np.dtype('i1'),
    'U8': np.dtype('u1'), 'BOOL': np.dtype('?'),
}
_NAMES = {v: k for k, v in _DTYPES.items()}


def save_file(tensors: Dict[str, np.ndarray], path: str, metadata: Optional[Dict[str, str]] = None) -> None:
    header = {}
    if metadata:
        header['__metadata__'] = {str(k): str(v) for k, v in metadata.items()}
    blobs, offset = [], 0
    # Larger alignment first, then by name: the same order the reference writer uses.
    names = sorted(tensors, key=lambda k: (-np.asarray(tensors[k]).dtype.itemsize, k))
    for name in names:
        a = np.array(tensors[name], order='C')  # not ascontiguousarray: it turns 0-d (logit_scale) into 1-d
        a = a.astype(a.dtype.newbyteorder('<'), copy=False)
        dt = _NAMES.get(a.dtype)
        if dt is None:
            raise ValueError(f'{name}: dtype {a.dtype} not supported')
        raw = a.tobytes()
        header[name] = {'dtype': dt, 'shape': list(a.shape), 'data_offsets': [offset, offset + len(raw)]}
        blobs.append(raw)
        offset += len(raw)
    hb = json.dumps(header, separators=(',', ':')).encode('utf-8')
    hb += b' ' * ((8 - (8 + len(hb)) % 8) % 8)
    with open(path, 'wb') as f:
        f.write(struct.pack('<Q', len(hb)))
        f.write(hb)
        for raw in blobs:
            f.write(raw)


def load_file(path: str) -> Dict[str, np.ndarray]:
    tensors, _ = load_file_with_metadata(path)
    return tensors


def load_file_with_metadata(path: str):
    with open(path, 'rb') as f:
        buf = f.read()
    (n,) = struct.unpack('<Q', buf[:8])
    header = json.loads(buf[8:8 + n].decode('utf-8'))
    data = memoryview(buf)[8 + n:]
    meta = header.pop('__metadata__', {})
    out = {}
    for name, info in header.items():
        if info['dtype'] == 'BF16':
            b, e = info['data_offsets']
            u16 = np.frombuffer(data[b:e], dtype='<u2').astype(np.uint32) << 16
            out[name] = u16.view(np.float32).reshape(info['shape'])
            continue
        dt = _DTYPES[info['dtype']]
        b, e = info['data_offsets']
        if e - b != dt.itemsize * int(np.prod(info['shape'], dtype=np.int64)):
            raise ValueError(f'{name}: byte length does not match shape')
        out[name] = np.frombuffer(data[b:e], dtype=dt).reshape(info['shape']).copy()
    return out, meta
