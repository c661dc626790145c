/** What each decoder hands back before the common finishing steps in codecs.ts (type, stored bits, colour). */
export type SampleArray = Uint8Array | Int8Array | Uint16Array | Int16Array | Uint32Array | Int32Array;

export interface Samples {
  /** One value per sample; for 3 samples per pixel interleaved unless `planar`. */
  data: SampleArray;
  planar: boolean;
  /** Colour transform still to apply to 3-sample data. */
  ycc: 'none' | 'full' | 'partial';
  /** Significant bits per sample: masking / sign extension for grey, the top-8 shift for colour. */
  storedBits: number;
}
