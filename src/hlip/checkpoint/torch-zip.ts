/**
 * PyTorch zip checkpoints (torch.save since 1.6): `<archive>/data.pkl` holds the object graph, `<archive>/data/<key>`
 * the raw storages, `<archive>/byteorder` their endianness (absent = little). Tensors stay references until
 * `materialize`, so an optimizer's state (twice the model) is never read when only the state dict is wanted.
 */
import type { HostTensor, TensorData } from './tensor';
import { DTYPE_SIZE, openSource, swapBytes, typedArray, type ByteSource } from './bytes';
import { CheckpointError, isAllocationFailure } from './errors';
import { PickleDamage, STORAGE_DTYPES, StorageRef, TensorRef, unpickle } from './unpickle';
import { ZipReader } from './zip';

export { TensorRef } from './unpickle';

export interface TorchZip {
  /** The unpickled object: Map / array / scalars, with TensorRef where tensors were. */
  root: unknown;
  /** Replaces every TensorRef under `value` with a HostTensor (storages shared between tensors are read once). */
  materialize(value: unknown): Promise<unknown>;
  close(): Promise<void>;
}

/** What the first bytes say about a torch/pickle file, for errors that tell the user what to do. */
export function legacyTorchMessage(head: Uint8Array): string | undefined {
  const tar = head.length > 262 && new TextDecoder().decode(head.subarray(257, 262)) === 'ustar';
  if (head[0] === 0x80 || tar) {
    return 'This is a legacy (pre-1.6, non-zip) torch.save file, which is not read; re-save it with torch>=1.6 (torch.save(torch.load(f), g)) or convert it to safetensors';
  }
  return undefined;
}

export async function openTorchZip(path: string): Promise<TorchZip> {
  const src = await openSource(path);
  try {
    return await openFrom(src);
  } catch (e) {
    await src.close();
    throw e;
  }
}

async function openFrom(src: ByteSource): Promise<TorchZip> {
  const head = await src.read(0, Math.min(src.size, 512), 'the file header');
  const legacy = legacyTorchMessage(head);
  if (legacy) throw new CheckpointError('UNSUPPORTED', legacy, src.path);
  if (!(head[0] === 0x50 && head[1] === 0x4b)) throw new CheckpointError('CORRUPT', 'This is not a PyTorch checkpoint (no zip signature)', src.path);
  const zip = await ZipReader.open(src);
  const names = [...zip.entries.keys()];
  const pkl = names.filter((n) => /^[^/]+\/data\.pkl$/.test(n));
  if (pkl.length !== 1) {
    const scripted = names.some((n) => /^[^/]+\/(code\/|constants\.pkl)/.test(n));
    throw new CheckpointError(
      scripted ? 'UNSUPPORTED' : 'CORRUPT',
      scripted
        ? 'This is a TorchScript archive (torch.jit.save); save the state dict with torch.save(model.state_dict(), f) instead'
        : `The zip holds ${pkl.length} data.pkl records; expected one from torch.save`,
      src.path,
    );
  }
  const prefix = pkl[0].slice(0, -'data.pkl'.length);
  const orderEntry = zip.entries.get(`${prefix}byteorder`);
  const bigEndian = orderEntry ? new TextDecoder().decode(await zip.read(orderEntry)).trim() === 'big' : false;

  const storages = new Map<string, StorageRef>();
  const persistentLoad = (pid: unknown): StorageRef => {
    if (!Array.isArray(pid) || pid[0] !== 'storage' || pid.length < 5) throw new PickleDamage('a persistent id is not a storage');
    const [, type, key, , numel] = pid;
    const dtype = type instanceof Object || typeof type === 'string' ? STORAGE_DTYPES[`${type}`.replace(/^torch\./, '')] : undefined;
    if (!dtype || typeof key !== 'string' || !Number.isSafeInteger(numel) || numel < 0) throw new PickleDamage('a storage id is not (storage, type, key, location, size)');
    let s = storages.get(key);
    if (!s) storages.set(key, (s = new StorageRef(key, dtype, numel)));
    return s;
  };
  const root = unpickle(await zip.read(zip.entries.get(pkl[0])!), persistentLoad, src.path);

  const loaded = new Map<string, Promise<Uint8Array>>();
  const storageBytes = (s: StorageRef): Promise<Uint8Array> => {
    let p = loaded.get(s.key);
    if (!p) {
      p = (async () => {
        const entry = zip.entries.get(`${prefix}data/${s.key}`);
        if (!entry) throw new CheckpointError('CORRUPT', `Storage ${s.key} is referenced by data.pkl but missing from the archive`, src.path);
        const need = s.numel * DTYPE_SIZE[s.dtype];
        if (entry.size < need) throw new CheckpointError('CORRUPT', `Storage ${s.key} has ${entry.size} bytes, its tensors need ${need}`, src.path);
        const b = await zip.read(entry);
        if (bigEndian) swapBytes(b, DTYPE_SIZE[s.dtype]);
        return b.subarray(0, need);
      })();
      loaded.set(s.key, p);
    }
    return p;
  };

  // Copies (expanded or transposed views) may together take twice the file: a stride-0 tensor of a huge size is refused
  // before its array is allocated.
  let copyBudget = 2 * src.size + 64 * 2 ** 20;
  const tensor = async (t: TensorRef): Promise<HostTensor> => {
    const { dtype, numel } = t.storage;
    if (t.shape.length !== t.stride.length || t.shape.some((d) => d < 0) || t.stride.some((d) => d < 0)) {
      throw new CheckpointError('CORRUPT', `A tensor has size [${t.shape}] with stride [${t.stride}]`, src.path);
    }
    const n = t.shape.reduce((a, b) => a * b, 1);
    if (!Number.isSafeInteger(n)) throw new CheckpointError('TOO_LARGE', `A tensor of size [${t.shape}] has more elements than can be allocated`, src.path);
    const all = typedArray(await storageBytes(t.storage), dtype);
    const last = n === 0 ? t.offset - 1 : t.offset + t.shape.reduce((a, d, i) => a + (d - 1) * t.stride[i], 0);
    if (t.offset < 0 || last >= numel) {
      throw new CheckpointError('CORRUPT', `A tensor of size [${t.shape}] at offset ${t.offset} reaches past its storage (${numel} elements)`, src.path);
    }
    if (!isContiguous(t)) {
      const bytes = n * DTYPE_SIZE[dtype];
      if (bytes > copyBudget) {
        throw new CheckpointError('TOO_LARGE', `A tensor of size [${t.shape}] expands its ${numel}-element storage to ${bytes} bytes, more than a ${src.size}-byte checkpoint can need`, src.path);
      }
      copyBudget -= bytes;
    }
    try {
      return { dtype, shape: t.shape, data: gather(all, t, n) };
    } catch (e) {
      if (isAllocationFailure(e)) throw new CheckpointError('TOO_LARGE', `A tensor of size [${t.shape}] is too large to allocate`, src.path);
      throw e;
    }
  };

  const materialize = async (v: unknown, depth = 0): Promise<unknown> => {
    if (v instanceof TensorRef) return tensor(v);
    if ((v instanceof Map || Array.isArray(v)) && depth > MAX_NESTING) {
      throw new CheckpointError('CORRUPT', `The checkpoint's containers are nested more than ${MAX_NESTING} deep, which torch.save never writes`, src.path);
    }
    if (v instanceof Map) {
      const out = new Map<unknown, unknown>();
      for (const [k, x] of v) out.set(k, await materialize(x, depth + 1));
      return out;
    }
    if (Array.isArray(v)) {
      const out: unknown[] = [];
      for (const x of v) out.push(await materialize(x, depth + 1));
      return out;
    }
    return v;
  };
  return { root, materialize, close: () => src.close() };
}

/** Containers deeper than this are damage or an attack (a state dict is 1-3 levels deep; optimizer state ~5). */
const MAX_NESTING = 100;

function isContiguous({ shape, stride }: TensorRef): boolean {
  let expect = 1;
  for (let i = shape.length - 1; i >= 0; i--) {
    if (shape[i] !== 1 && stride[i] !== expect) return false;
    expect *= shape[i];
  }
  return true;
}

/** Contiguous tensors are views of their storage; others (transposes, expands) are copied in C order. */
function gather(all: TensorData, t: TensorRef, n: number): TensorData {
  const { shape, stride, offset } = t;
  if (isContiguous(t)) return all.subarray(offset, offset + n);
  const out = new (all.constructor as new (n: number) => TensorData)(n);
  const idx = new Array<number>(shape.length).fill(0);
  let src = offset;
  for (let k = 0; k < n; k++) {
    out[k] = all[src];
    for (let d = shape.length - 1; d >= 0; d--) {
      if (++idx[d] < shape[d]) {
        src += stride[d];
        break;
      }
      src -= (shape[d] - 1) * stride[d];
      idx[d] = 0;
    }
  }
  return out;
}

/** The whole object graph with every tensor read (tests, tools); loadCheckpoint reads only the state dict. */
export async function readTorchZip(path: string): Promise<unknown> {
  const z = await openTorchZip(path);
  try {
    return await z.materialize(z.root);
  } finally {
    await z.close();
  }
}
