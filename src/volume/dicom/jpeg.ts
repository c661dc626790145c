/**
 * Reads the header of a JPEG (ISO 10918) stream up to its first scan: which process it uses (the SOF marker decides
 * the decoder, whatever the transfer syntax claims), its size (checked against the DICOM header before any codec
 * allocates), and the markers that say whether 3-component data is YCbCr.
 */
export interface JpegHeader {
  /** SOF marker, 0xc0..0xcf: c0/c1 sequential DCT, c2 progressive, c3 lossless, c9+ arithmetic coded; f7 JPEG-LS. */
  sof: number;
  precision: number;
  width: number;
  height: number;
  components: { id: number; h: number; v: number }[];
  jfif: boolean;
  /** The Adobe APP14 transform flag (0: no colour transform, 1: YCbCr), or null without that marker. */
  adobeTransform: number | null;
}

export const SOF_NAMES: Record<number, string> = {
  0xc0: 'baseline DCT',
  0xc1: 'extended sequential DCT',
  0xc2: 'progressive DCT',
  0xc3: 'lossless',
  0xc5: 'differential sequential DCT',
  0xc6: 'differential progressive DCT',
  0xc7: 'differential lossless',
  0xc9: 'arithmetic-coded sequential DCT',
  0xca: 'arithmetic-coded progressive DCT',
  0xcb: 'arithmetic-coded lossless',
  0xf7: 'JPEG-LS',
};

/** SOF0..SOF15 (not DHT, JPG, DAC) and JPEG-LS's SOF55, whose frame header has the same layout. */
const isSof = (m: number) => (m >= 0xc0 && m <= 0xcf && m !== 0xc4 && m !== 0xc8 && m !== 0xcc) || m === 0xf7;

/** Also reads JPEG-LS (ISO 14495) headers: same marker syntax. */
export function readJpegHeader(b: Uint8Array): JpegHeader {
  if (b.length < 4 || b[0] !== 0xff || b[1] !== 0xd8) throw new Error('not a JPEG stream (no start-of-image marker)');
  let pos = 2;
  let header: Omit<JpegHeader, 'jfif' | 'adobeTransform'> | null = null;
  let jfif = false;
  let adobeTransform: number | null = null;
  while (pos + 4 <= b.length) {
    if (b[pos] !== 0xff) throw new Error(`JPEG marker expected at byte ${pos}`);
    const m = b[pos + 1];
    if (m === 0xff) {
      pos++; // fill byte
      continue;
    }
    if (m === 0x01 || (m >= 0xd0 && m <= 0xd7)) {
      pos += 2; // standalone markers
      continue;
    }
    if (m === 0xd9) break;
    const len = (b[pos + 2] << 8) | b[pos + 3];
    const start = pos + 4;
    const end = pos + 2 + len;
    if (len < 2 || end > b.length) throw new Error(`JPEG marker 0xFF${m.toString(16)} runs past the end of the data`);
    if (m === 0xda) {
      if (!header) throw new Error('JPEG scan before any frame header');
      return { ...header, jfif, adobeTransform };
    }
    if (isSof(m)) {
      if (len < 8) throw new Error('JPEG frame header too short');
      const n = b[start + 5];
      if (len < 8 + 3 * n) throw new Error('JPEG frame header too short for its components');
      const components = [];
      for (let i = 0; i < n; i++) {
        const hv = b[start + 7 + 3 * i];
        components.push({ id: b[start + 6 + 3 * i], h: hv >> 4, v: hv & 15 });
      }
      header = {
        sof: m,
        precision: b[start],
        height: (b[start + 1] << 8) | b[start + 2],
        width: (b[start + 3] << 8) | b[start + 4],
        components,
      };
    } else if (m === 0xe0 && len >= 7 && ascii(b, start, 5) === 'JFIF\0') {
      jfif = true;
    } else if (m === 0xee && len >= 14 && ascii(b, start, 5) === 'Adobe') {
      adobeTransform = b[start + 11];
    }
    pos = end;
  }
  throw new Error('JPEG stream ends before its first scan');
}

const ascii = (b: Uint8Array, at: number, n: number) => String.fromCharCode(...b.subarray(at, at + n));

/**
 * Whether 3-component JPEG data is YCbCr and must be converted to RGB. Markers in the stream say so explicitly (JFIF:
 * always YCbCr; Adobe APP14: its transform flag); so do component ids 'R','G','B' (RGB) and subsampled chroma (nobody
 * subsamples R, G and B: pydicom's SC_rgb_jpeg_lossy_gdcm.dcm is 4:2:0 YCbCr labelled RGB). Otherwise the DICOM
 * Photometric Interpretation decides, as DCMTK and GDCM do (RGB: stored as is, e.g. pydicom's
 * SC_jpeg_no_color_transform.dcm, which libjpeg's own guess would turn purple; YBR_*: YCbCr).
 */
export function jpegIsYcc(h: JpegHeader, photometric: string): boolean {
  if (h.components.length !== 3) return false;
  if (h.jfif) return true;
  if (h.adobeTransform !== null) return h.adobeTransform !== 0;
  if (idsAreRgb(h)) return false;
  const [a, b, c] = h.components;
  if (a.h !== b.h || a.v !== b.v || a.h !== c.h || a.v !== c.v) return true;
  return photometric.startsWith('YBR');
}

const idsAreRgb = (h: JpegHeader) => h.components.map((x) => String.fromCharCode(x.id)).join('') === 'RGB';

/** What libjpeg itself will assume for 3-component data (jdapimin.c, default_decompress_parms). */
export function libjpegAssumesYcc(h: JpegHeader): boolean {
  if (h.components.length !== 3) return false;
  if (h.jfif) return true;
  if (h.adobeTransform !== null) return h.adobeTransform !== 0;
  return !idsAreRgb(h);
}

/** The stream with an Adobe APP14 marker right after SOI, which makes libjpeg apply (1) or skip (0) YCbCr -> RGB. */
export function withAdobeTransform(b: Uint8Array, transform: 0 | 1): Uint8Array {
  // FFEE, length 14, "Adobe", version 100, flags0, flags1, transform
  const app14 = [0xff, 0xee, 0, 14, 0x41, 0x64, 0x6f, 0x62, 0x65, 0, 100, 0, 0, 0, 0, transform];
  const out = new Uint8Array(b.length + app14.length);
  out.set(b.subarray(0, 2));
  out.set(app14, 2);
  out.set(b.subarray(2), 2 + app14.length);
  return out;
}
