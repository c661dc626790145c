/**
 * The emscripten (WASM) codecs from @cornerstonejs, loaded lazily in plain Node (no DOM, no fetch).
 *
 * The JS glue is an ordinary `require`, so esbuild bundles it into dist/*.js; the .wasm binary is read at run time from
 * the package (require.resolve through its "exports" map) and handed over as `wasmBinary`, so the glue never looks for
 * it next to the bundle. Each module is instantiated once; a trap (a WebAssembly.RuntimeError, e.g. an out-of-bounds
 * access on hostile data) may leave its memory inconsistent, so the instance is then dropped and the next call loads a
 * fresh one.
 */
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';

export interface WasmFrameInfo {
  width: number;
  height: number;
  bitsPerSample: number;
  componentCount: number;
  isSigned?: boolean;
}

/** The shape shared by JPEGDecoder (libjpeg-turbo), JpegLSDecoder (CharLS) and J2KDecoder (OpenJPEG). */
export interface WasmDecoder {
  getEncodedBuffer(length: number): Uint8Array;
  decode(): void;
  getDecodedBuffer(): Uint8Array;
  getFrameInfo(): WasmFrameInfo;
  delete(): void;
  /** OpenJPEG only: parse the main header without decoding. */
  readHeader?(): void;
  /** CharLS only: 0 = planar (one scan per component), 1 = line, 2 = sample interleaved. */
  getInterleaveMode?(): number;
}

interface WasmModule {
  [decoderClass: string]: unknown;
  /** Present where the build exports it (CharLS): [type, message] of a thrown C++ exception. */
  getExceptionMessage?: (e: number) => [string, string];
}

type Factory = (options: Record<string, unknown>) => Promise<WasmModule>;

interface CodecSpec {
  name: string;
  decoderClass: string;
  glue: () => Factory;
  /** Package subpath of the .wasm, resolved with require.resolve (see the package's "exports"). */
  wasm: string;
  /** Its file name, also looked for next to the bundle (for a build that copies it there). */
  file: string;
}

// Literal requires so that esbuild can bundle the glue (it cannot follow a computed path).
export const LIBJPEG_TURBO: CodecSpec = {
  name: 'libjpeg-turbo',
  decoderClass: 'JPEGDecoder',
  glue: () => require('@cornerstonejs/codec-libjpeg-turbo-8bit/decodewasmjs') as Factory,
  wasm: '@cornerstonejs/codec-libjpeg-turbo-8bit/decodewasm',
  file: 'libjpegturbowasm_decode.wasm',
};
export const CHARLS: CodecSpec = {
  name: 'CharLS',
  decoderClass: 'JpegLSDecoder',
  glue: () => require('@cornerstonejs/codec-charls/decodewasmjs') as Factory,
  wasm: '@cornerstonejs/codec-charls/decodewasm',
  file: 'charlswasm_decode.wasm',
};
export const OPENJPEG: CodecSpec = {
  name: 'OpenJPEG',
  decoderClass: 'J2KDecoder',
  glue: () => require('@cornerstonejs/codec-openjpeg/decodewasmjs') as Factory,
  wasm: '@cornerstonejs/codec-openjpeg/decodewasm',
  file: 'openjpegwasm_decode.wasm',
};

const instances = new Map<CodecSpec, Promise<WasmModule>>();

function wasmBytes(spec: CodecSpec): Uint8Array {
  const candidates: string[] = [];
  try {
    candidates.push(require.resolve(spec.wasm));
  } catch {
    // not resolvable from here (e.g. a bundle shipped without node_modules): try next to the bundle
  }
  candidates.push(join(__dirname, spec.file));
  for (const c of candidates) if (existsSync(c)) return readFileSync(c);
  throw new Error(`${spec.name} WebAssembly binary not found (looked for ${candidates.join(', ')})`);
}

function instance(spec: CodecSpec): Promise<WasmModule> {
  let p = instances.get(spec);
  if (!p) {
    const silent = () => {}; // OpenJPEG logs "[INFO] ..." lines for every frame
    p = Promise.resolve()
      .then(() => spec.glue()({ wasmBinary: wasmBytes(spec), print: silent, printErr: silent }))
      .catch((e: unknown) => {
        instances.delete(spec);
        throw new Error(`cannot load the ${spec.name} codec: ${e instanceof Error ? e.message : String(e)}`);
      });
    instances.set(spec, p);
  }
  return p;
}

function describe(mod: WasmModule, e: unknown, spec: CodecSpec): string {
  if (e instanceof Error) return e.message;
  // emscripten throws C++ exceptions as a pointer (a number)
  if (typeof e === 'number' && mod.getExceptionMessage) {
    try {
      const [type, message] = mod.getExceptionMessage(e);
      // A stale pointer can read back a stray character or two ("n"): that says nothing, use the generic sentence.
      const text = (message || type || '').trim();
      if (text.length >= 4) return text;
    } catch {
      // the helper itself can trap on a stale pointer
    }
  }
  return `${spec.name} rejected the data`;
}

/**
 * Runs one decode: copies `bytes` into the codec's heap, lets `read` copy the result out (the decoded buffer is a view
 * into WASM memory that the next decode may move), and frees the decoder. Codec failures become plain Errors with the
 * codec's message; the caller wraps them into VolumeErrors.
 */
export async function withDecoder<T>(
  spec: CodecSpec,
  bytes: Uint8Array,
  read: (d: WasmDecoder) => T,
  beforeDecode?: (d: WasmDecoder) => void,
): Promise<T> {
  const mod = await instance(spec);
  const Ctor = mod[spec.decoderClass] as new () => WasmDecoder;
  const d = new Ctor();
  const exitCode = process.exitCode; // emscripten's exit() would set it on our process
  try {
    d.getEncodedBuffer(bytes.length).set(bytes);
    beforeDecode?.(d);
    d.decode();
    return read(d);
  } catch (e) {
    if (e instanceof WebAssembly.RuntimeError) instances.delete(spec);
    else if (e instanceof Error) throw e; // ours (a check in read/beforeDecode) or the glue's, already readable
    throw new Error(`${spec.name}: ${describe(mod, e, spec)}`);
  } finally {
    process.exitCode = exitCode;
    try {
      d.delete();
    } catch {
      // after a trap the instance is discarded anyway
    }
  }
}
