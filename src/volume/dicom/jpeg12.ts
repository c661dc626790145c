/**
 * A compact decoder for sequential-DCT, Huffman-coded JPEG (ISO 10918-1 processes 1, 2 and 4: baseline and extended)
 * at up to 12 bits per sample. The libjpeg-turbo WASM build only does 8 bits; DICOM's JPEG Extended (.4.51) is mostly
 * 12-bit CT/MR (e.g. pydicom's JPGExtended.dcm), which no installed package decodes, so this fills that gap.
 *
 * Output: samples as a Uint16Array, components interleaved, subsampled components upsampled by replication, no colour
 * transform. The inverse DCT is the separable floating-point definition (exact to rounding, so within 1 of libjpeg).
 * Corrupt data fails fast: every loop is bounded by the frame size or the input length, and the bit reader refuses to
 * read more than a few bytes past the end of a segment.
 */

interface Huffman {
  maxcode: Int32Array; // [1..16] largest code of each length, -1 when none
  valptr: Int32Array;
  mincode: Int32Array;
  values: Uint8Array;
}

interface Component {
  id: number;
  h: number;
  v: number;
  tq: number;
  stride: number; // samples per plane row (whole MCUs)
  plane: Uint16Array;
  pred: number;
  dc?: Huffman;
  ac?: Huffman;
}

export interface DctImage {
  width: number;
  height: number;
  precision: number;
  components: number;
  data: Uint16Array;
}

const ZIGZAG = new Uint8Array([
  0, 1, 8, 16, 9, 2, 3, 10, 17, 24, 32, 25, 18, 11, 4, 5, 12, 19, 26, 33, 40, 48, 41, 34, 27, 20, 13, 6, 7, 14, 21, 28, 35,
  42, 49, 56, 57, 50, 43, 36, 29, 22, 15, 23, 30, 37, 44, 51, 58, 59, 52, 45, 38, 31, 39, 46, 53, 60, 61, 54, 47, 55, 62,
  63,
]);

// COS[u * 8 + x] = C(u)/2 * cos((2x + 1) u pi / 16)
const COS = new Float64Array(64);
for (let u = 0; u < 8; u++) {
  for (let x = 0; x < 8; x++) COS[u * 8 + x] = (u === 0 ? Math.SQRT1_2 : 1) * 0.5 * Math.cos(((2 * x + 1) * u * Math.PI) / 16);
}

/** Bits past the end of a segment that a slightly short encoder is forgiven (libjpeg pads with zeros too). */
const MAX_FILL_BITS = 64;

class BitReader {
  private byte = 0;
  private left = 0;
  private fill = 0;
  constructor(
    private readonly d: Uint8Array,
    public pos: number,
  ) {}

  bit(): number {
    if (this.left === 0) {
      const d = this.d;
      if (this.pos < d.length && (d[this.pos] !== 0xff || d[this.pos + 1] === 0)) {
        this.byte = d[this.pos];
        this.pos += this.byte === 0xff ? 2 : 1; // 0xFF00 is a stuffed 0xFF
      } else {
        // at a marker or the end: the segment is over, yet the decoder wants more bits
        if ((this.fill += 8) > MAX_FILL_BITS) throw new Error('JPEG entropy-coded data ends too early (truncated or corrupt)');
        this.byte = 0;
      }
      this.left = 8;
    }
    return (this.byte >> --this.left) & 1;
  }

  receive(n: number): number {
    let v = 0;
    for (let i = 0; i < n; i++) v = (v << 1) | this.bit();
    return v;
  }

  decode(t: Huffman): number {
    let code = this.bit();
    for (let l = 1; l <= 16; l++) {
      if (code <= t.maxcode[l]) return t.values[t.valptr[l] + code - t.mincode[l]];
      code = (code << 1) | this.bit();
    }
    throw new Error('invalid Huffman code in JPEG data');
  }

  /** Byte-aligns and steps over a restart marker (fill bytes allowed before it). */
  restart(): void {
    this.left = 0;
    this.fill = 0;
    const d = this.d;
    while (this.pos < d.length && d[this.pos] === 0xff && d[this.pos + 1] === 0xff) this.pos++;
    const m = d[this.pos + 1];
    if (d[this.pos] !== 0xff || m < 0xd0 || m > 0xd7) throw new Error('JPEG restart marker missing');
    this.pos += 2;
  }
}

function buildHuffman(counts: Uint8Array, values: Uint8Array): Huffman {
  const maxcode = new Int32Array(18).fill(-1);
  const valptr = new Int32Array(17);
  const mincode = new Int32Array(17);
  let code = 0;
  let k = 0;
  for (let l = 1; l <= 16; l++) {
    const n = counts[l - 1];
    if (n) {
      valptr[l] = k;
      mincode[l] = code;
      code += n;
      k += n;
      maxcode[l] = code - 1;
      if (code > 1 << l) throw new Error('invalid JPEG Huffman table');
    }
    code <<= 1;
  }
  return { maxcode, valptr, mincode, values };
}

const extend = (v: number, t: number) => (t === 0 ? 0 : v < 1 << (t - 1) ? v - (1 << t) + 1 : v);

export function decodeSequentialJpeg(b: Uint8Array): DctImage {
  if (b[0] !== 0xff || b[1] !== 0xd8) throw new Error('not a JPEG stream');
  const quant: (Int32Array | undefined)[] = [];
  const dcTables: (Huffman | undefined)[] = [];
  const acTables: (Huffman | undefined)[] = [];
  let frame: { precision: number; width: number; height: number; hmax: number; vmax: number; mcusX: number; mcusY: number } | null = null;
  let comps: Component[] = [];
  let restartInterval = 0;
  let scans = 0;
  let pos = 2;

  for (;;) {
    // find the next marker (skipping fill bytes and, after a scan, any trailing entropy-coded bytes)
    while (pos < b.length && !(b[pos] === 0xff && b[pos + 1] !== 0 && b[pos + 1] !== 0xff && !(b[pos + 1] >= 0xd0 && b[pos + 1] <= 0xd7))) pos++;
    if (pos + 1 >= b.length) break; // no EOI: accept what was decoded if any scan ran
    const m = b[pos + 1];
    if (m === 0xd9) break;
    if (m === 0x01) {
      pos += 2;
      continue;
    }
    if (pos + 4 > b.length) throw new Error('JPEG stream truncated inside a marker');
    const len = (b[pos + 2] << 8) | b[pos + 3];
    const s = pos + 4;
    const end = pos + 2 + len;
    if (len < 2 || end > b.length) throw new Error(`JPEG marker 0xFF${m.toString(16)} runs past the end of the data`);
    switch (m) {
      case 0xdb: // DQT
        for (let p = s; p < end; ) {
          const pq = b[p] >> 4;
          const tq = b[p] & 15;
          p++;
          if (tq > 3 || p + 64 * (pq + 1) > end) throw new Error('invalid JPEG quantisation table');
          const t = new Int32Array(64);
          for (let i = 0; i < 64; i++, p += pq + 1) t[ZIGZAG[i]] = pq ? (b[p] << 8) | b[p + 1] : b[p];
          quant[tq] = t;
        }
        break;
      case 0xc4: // DHT
        for (let p = s; p < end; ) {
          const tc = b[p] >> 4;
          const th = b[p] & 15;
          if (tc > 1 || th > 3 || p + 17 > end) throw new Error('invalid JPEG Huffman table');
          const counts = b.subarray(p + 1, p + 17);
          let total = 0;
          for (const c of counts) total += c;
          if (total > 256 || p + 17 + total > end) throw new Error('invalid JPEG Huffman table');
          const table = buildHuffman(counts, b.slice(p + 17, p + 17 + total));
          (tc === 0 ? dcTables : acTables)[th] = table;
          p += 17 + total;
        }
        break;
      case 0xdd: // DRI
        restartInterval = (b[s] << 8) | b[s + 1];
        break;
      case 0xc0:
      case 0xc1: {
        const precision = b[s];
        const height = (b[s + 1] << 8) | b[s + 2];
        const width = (b[s + 3] << 8) | b[s + 4];
        const n = b[s + 5];
        if (precision !== 8 && precision !== 12) throw new Error(`JPEG sample precision ${precision} is not 8 or 12`);
        if (!width || !height) throw new Error('JPEG frame without a size (DNL) is not supported');
        if (n < 1 || n > 4 || len < 8 + 3 * n) throw new Error('invalid JPEG frame header');
        comps = [];
        for (let i = 0; i < n; i++) {
          const hv = b[s + 7 + 3 * i];
          const h = hv >> 4;
          const v = hv & 15;
          if (h < 1 || h > 4 || v < 1 || v > 4) throw new Error('invalid JPEG sampling factors');
          comps.push({ id: b[s + 6 + 3 * i], h, v, tq: b[s + 8 + 3 * i] & 3, stride: 0, plane: new Uint16Array(0), pred: 0 });
        }
        const hmax = Math.max(...comps.map((c) => c.h));
        const vmax = Math.max(...comps.map((c) => c.v));
        const mcusX = Math.ceil(width / (8 * hmax));
        const mcusY = Math.ceil(height / (8 * vmax));
        for (const c of comps) {
          c.stride = mcusX * c.h * 8;
          c.plane = new Uint16Array(c.stride * mcusY * c.v * 8);
        }
        frame = { precision, width, height, hmax, vmax, mcusX, mcusY };
        break;
      }
      case 0xda: {
        if (!frame) throw new Error('JPEG scan before the frame header');
        const n = b[s];
        if (n < 1 || n > 4 || len < 6 + 2 * n) throw new Error('invalid JPEG scan header');
        const scanComps: Component[] = [];
        for (let i = 0; i < n; i++) {
          const c = comps.find((x) => x.id === b[s + 1 + 2 * i]);
          if (!c) throw new Error('JPEG scan names an unknown component');
          c.dc = dcTables[b[s + 2 + 2 * i] >> 4];
          c.ac = acTables[b[s + 2 + 2 * i] & 15];
          if (!c.dc || !c.ac) throw new Error('JPEG scan uses an undefined Huffman table');
          if (!quant[c.tq]) throw new Error('JPEG component uses an undefined quantisation table');
          c.pred = 0;
          scanComps.push(c);
        }
        // Ss/Se/Ah/Al are ignored: sequential DCT always codes all 64 coefficients (pydicom's JPEG-lossy.dcm says Se=0).
        pos = decodeScan(b, end, frame, scanComps, quant, restartInterval);
        scans++;
        continue;
      }
      case 0xc2:
      case 0xc3:
      case 0xc5:
      case 0xc6:
      case 0xc7:
      case 0xc9:
      case 0xca:
      case 0xcb:
      case 0xcd:
      case 0xce:
      case 0xcf:
        throw new Error(`JPEG process SOF${m - 0xc0} is not supported by the 12-bit decoder`);
      default:
        break; // APPn, COM and others carry nothing we need
    }
    pos = end;
  }
  if (!frame || scans === 0) throw new Error('JPEG stream has no image data');
  return assemble(frame, comps);
}

function decodeScan(
  b: Uint8Array,
  start: number,
  f: { precision: number; width: number; height: number; hmax: number; vmax: number; mcusX: number; mcusY: number },
  comps: Component[],
  quant: (Int32Array | undefined)[],
  restartInterval: number,
): number {
  const r = new BitReader(b, start);
  const coef = new Float64Array(64);
  const tmp = new Float64Array(64);
  const offset = 1 << (f.precision - 1);
  const maxVal = (1 << f.precision) - 1;

  const block = (c: Component, by: number, bx: number) => {
    const q = quant[c.tq]!;
    coef.fill(0);
    const t = r.decode(c.dc!);
    if (t > 16) throw new Error('invalid JPEG DC coefficient');
    c.pred += extend(r.receive(t), t);
    coef[0] = c.pred * q[0];
    for (let k = 1; k < 64; ) {
      const rs = r.decode(c.ac!);
      const size = rs & 15;
      const run = rs >> 4;
      if (size === 0) {
        if (run !== 15) break; // end of block
        k += 16;
        continue;
      }
      k += run;
      if (k > 63) throw new Error('JPEG coefficient index out of range');
      const z = ZIGZAG[k];
      coef[z] = extend(r.receive(size), size) * q[z];
      k++;
    }
    // separable inverse DCT: rows, then columns
    for (let y = 0; y < 8; y++) {
      for (let x = 0; x < 8; x++) {
        let sum = 0;
        for (let u = 0; u < 8; u++) sum += COS[u * 8 + x] * coef[y * 8 + u];
        tmp[y * 8 + x] = sum;
      }
    }
    const plane = c.plane;
    for (let x = 0; x < 8; x++) {
      for (let y = 0; y < 8; y++) {
        let sum = 0;
        for (let v = 0; v < 8; v++) sum += COS[v * 8 + y] * tmp[v * 8 + x];
        const val = Math.round(sum) + offset;
        plane[(by * 8 + y) * c.stride + bx * 8 + x] = val < 0 ? 0 : val > maxVal ? maxVal : val;
      }
    }
  };

  let units: number;
  let unit: (n: number) => void;
  if (comps.length === 1) {
    // non-interleaved: one block per unit, over the component's own size
    const c = comps[0];
    const bw = Math.ceil(Math.ceil((f.width * c.h) / f.hmax) / 8);
    const bh = Math.ceil(Math.ceil((f.height * c.v) / f.vmax) / 8);
    units = bw * bh;
    unit = (n) => block(c, Math.floor(n / bw), n % bw);
  } else {
    units = f.mcusX * f.mcusY;
    unit = (n) => {
      const mx = n % f.mcusX;
      const my = Math.floor(n / f.mcusX);
      for (const c of comps) {
        for (let v = 0; v < c.v; v++) for (let h = 0; h < c.h; h++) block(c, my * c.v + v, mx * c.h + h);
      }
    };
  }
  for (let n = 0; n < units; n++) {
    if (restartInterval && n > 0 && n % restartInterval === 0) {
      r.restart();
      for (const c of comps) c.pred = 0;
    }
    unit(n);
  }
  return r.pos;
}

function assemble(f: { width: number; height: number; precision: number; hmax: number; vmax: number }, comps: Component[]): DctImage {
  const n = comps.length;
  const data = new Uint16Array(f.width * f.height * n);
  for (let ci = 0; ci < n; ci++) {
    const c = comps[ci];
    const sx = c.h / f.hmax;
    const sy = c.v / f.vmax;
    for (let y = 0; y < f.height; y++) {
      const row = Math.floor(y * sy) * c.stride;
      let o = y * f.width * n + ci;
      if (sx === 1) for (let x = 0; x < f.width; x++, o += n) data[o] = c.plane[row + x];
      else for (let x = 0; x < f.width; x++, o += n) data[o] = c.plane[row + Math.floor(x * sx)];
    }
  }
  return { width: f.width, height: f.height, precision: f.precision, components: n, data };
}
