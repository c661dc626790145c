/** What a decoder needs to know about one frame's pixel data (from the Image Pixel module). */
export interface FrameInfo {
  rows: number;
  columns: number;
  bitsAllocated: number;
  bitsStored: number;
  pixelRepresentation: number; // 0 unsigned, 1 signed
  samplesPerPixel: number;
  planarConfiguration: number; // 0 interleaved, 1 planar
  photometric: string; // 'MONOCHROME1' | 'MONOCHROME2' | 'RGB' | 'YBR_FULL' | 'YBR_FULL_422' | 'YBR_RCT' | 'YBR_ICT' | 'PALETTE COLOR' ...
  littleEndian: boolean; // only for native (uncompressed) data
  /** 1-bit native data only: the bit of bytes[0] where this frame starts (frames of a 1-bit object share bytes). */
  bitOffset?: number;
}
