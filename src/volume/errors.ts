import { CodedError, isAllocationFailure, isEngineError } from '../shared/coded-error';

/** Why a file could not become a volume. Codes are stable (tests, UI); messages are for people. */
export type VolumeErrorCode =
  | 'NOT_FOUND' // path does not exist / unreadable
  | 'UNRECOGNISED' // neither NIfTI nor DICOM
  | 'TRUNCATED' // file ends before the header says it should
  | 'BAD_HEADER' // header fields are inconsistent or impossible
  | 'TOO_LARGE' // decoded volume would exceed the memory guard
  | 'UNSUPPORTED_DATATYPE' // NIfTI datatype / DICOM pixel format we do not decode
  | 'UNSUPPORTED_TRANSFER_SYNTAX'
  | 'NOT_AN_IMAGE' // DICOM without pixel data by design (SR, RT plan, waveform, DICOMDIR without images)
  | 'NO_PIXEL_DATA' // image DICOM whose PixelData is missing
  | 'DECODE_FAILED' // compressed pixel data that the codec rejected
  | 'INCONSISTENT_SERIES' // slices that cannot be stacked
  | 'EMPTY'; // a folder with nothing readable

export class VolumeError extends CodedError<VolumeErrorCode> {
  override readonly name = 'VolumeError';
}

export function isVolumeError(e: unknown): e is VolumeError {
  return e instanceof VolumeError;
}

/** Wraps anything thrown by third-party parsers into a VolumeError so callers see one error type. */
export function asVolumeError(e: unknown, code: VolumeErrorCode, what: string, file?: string): VolumeError {
  if (e instanceof VolumeError) return e;
  let err: VolumeError;
  if (isAllocationFailure(e)) err = new VolumeError('TOO_LARGE', `${what}: the header asks for more memory than can be allocated`, file);
  // A codec or parser tripping over damaged bytes: its JavaScript wording would mean nothing to the user.
  else if (isEngineError(e)) err = new VolumeError(code, `${what}: the data is damaged or does not match its header`, file);
  else err = new VolumeError(code, `${what}: ${e instanceof Error ? e.message : String(e)}`, file);
  err.cause = e;
  return err;
}
