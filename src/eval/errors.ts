import { CodedError } from '../shared/coded-error';

/** An evaluation that cannot start: the labels, the data folder or the options are wrong as a whole. */
export class EvalError extends CodedError<'BAD_LABELS' | 'BAD_DATA' | 'BAD_OPTION' | 'MERGE_MISMATCH' | 'NO_STUDIES'> {
  override readonly name = 'EvalError';
}

/** One study that cannot be evaluated: it goes to the report's skipped list with this sentence. */
export class StudySkip extends Error {
  override readonly name = 'StudySkip';
}
