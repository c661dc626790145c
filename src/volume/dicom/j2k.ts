/**
 * Reads the size of a JPEG 2000 / HTJ2K image from its SIZ marker (ISO 15444-1 A.5.1) so that it can be checked
 * against the DICOM header before OpenJPEG allocates anything (its readHeader() does not report the size). Accepts a
 * bare codestream, as DICOM requires, and the JP2 file wrapper some encoders leave in (e.g. pydicom's
 * GDCMJ2K_TextGBR.dcm).
 */
export interface J2kHeader {
  width: number;
  height: number;
  components: number;
  /** Bits per sample and signedness of the first component. */
  precision: number;
  signed: boolean;
  /** Every component at full resolution (no XRsiz/YRsiz subsampling). */
  fullResolution: boolean;
}

export function readJ2kHeader(b: Uint8Array): J2kHeader {
  const at = codestreamStart(b);
  const dv = new DataView(b.buffer, b.byteOffset, b.byteLength);
  if (at + 4 > b.length || dv.getUint16(at) !== 0xff4f || dv.getUint16(at + 2) !== 0xff51) {
    throw new Error('not a JPEG 2000 codestream (no SOC/SIZ markers)');
  }
  const s = at + 4; // Lsiz
  if (s + 38 > b.length) throw new Error('JPEG 2000 SIZ marker truncated');
  const width = dv.getUint32(s + 4) - dv.getUint32(s + 12);
  const height = dv.getUint32(s + 8) - dv.getUint32(s + 16);
  const components = dv.getUint16(s + 36);
  if (components < 1 || s + 38 + 3 * components > b.length) throw new Error('JPEG 2000 SIZ marker truncated');
  let fullResolution = true;
  for (let c = 0; c < components; c++) if (b[s + 39 + 3 * c] !== 1 || b[s + 40 + 3 * c] !== 1) fullResolution = false;
  const ssiz = b[s + 38];
  return { width, height, components, precision: (ssiz & 0x7f) + 1, signed: (ssiz & 0x80) !== 0, fullResolution };
}

/** Offset of the codestream: 0, or inside the 'jp2c' box of a JP2 file. */
function codestreamStart(b: Uint8Array): number {
  const dv = new DataView(b.buffer, b.byteOffset, b.byteLength);
  if (b.length >= 12 && dv.getUint32(0) === 12 && dv.getUint32(4) === 0x6a502020) {
    for (let p = 0; p + 8 <= b.length; ) {
      let len = dv.getUint32(p);
      const type = dv.getUint32(p + 4);
      let header = 8;
      if (len === 1) {
        if (p + 16 > b.length) break;
        len = Number(dv.getBigUint64(p + 8));
        header = 16;
      } else if (len === 0) len = b.length - p;
      if (type === 0x6a703263) return p + header; // 'jp2c'
      if (len < header) break;
      p += len;
    }
    throw new Error('JP2 file without a codestream box');
  }
  return 0;
}
