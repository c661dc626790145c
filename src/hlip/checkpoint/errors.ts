import { CodedError } from '../../shared/coded-error';

/** Why a checkpoint could not be read. Codes are stable (tests, UI); messages are sentences for people. */
export type CheckpointErrorCode =
  | 'NOT_FOUND' // no such file, or a folder without a weights file
  | 'CORRUPT' // truncated or inconsistent file (zip directory, safetensors header, storage sizes)
  | 'UNSAFE_PICKLE' // a pickle that references a global outside the tensor/container allow-list
  | 'UNSUPPORTED' // a real format we do not read (legacy torch.save, TorchScript, complex/quantised storages)
  | 'TOO_LARGE' // the file asks for more memory than a checkpoint of its size can need (or than can be allocated)
  | 'NOT_HLIP' // readable tensors, but neither an HLIP visual nor text tower
  | 'NO_TEXT_TOWER' // a text-side job on a checkpoint without text.* weights
  | 'NO_VISUAL_TOWER'; // an HLIP text tower alone, where the image side is needed

export class CheckpointError extends CodedError<CheckpointErrorCode> {
  override readonly name = 'CheckpointError';
}

export const isCheckpointError = (e: unknown): e is CheckpointError => e instanceof CheckpointError;

export { isAllocationFailure, isEngineError } from '../../shared/coded-error';
