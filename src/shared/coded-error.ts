/**
 * An error that is about the user's input or machine, not a bug: a stable code (tests, UI, CLI exit messages) and a
 * sentence for people, optionally naming the file. Each module's error type extends it; callers that only need to tell
 * "say this to the user" from "a bug, show the stack" check `instanceof CodedError`.
 */
export class CodedError<C extends string = string> extends Error {
  constructor(
    readonly code: C,
    message: string,
    readonly file?: string,
  ) {
    super(file ? `${message} (${file})` : message);
  }
}

/** V8's way of saying an allocation failed (a typed array, array, string or zlib output too large for memory). */
export function isAllocationFailure(e: unknown): boolean {
  return e instanceof RangeError && /Array buffer allocation|Invalid typed array length|Invalid array length|Invalid string length|ERR_BUFFER_TOO_LARGE/i.test(`${e.message} ${(e as { code?: string }).code ?? ''}`);
}

/**
 * JavaScript's own errors (a reader or a third-party codec tripping over damaged bytes: "Cannot read properties of
 * undefined", "Offset is outside the bounds of the DataView"): their wording means nothing to a user, so callers say
 * "damaged" in their own words and keep the original as `cause` for the log.
 */
export function isEngineError(e: unknown): boolean {
  return e instanceof TypeError || e instanceof ReferenceError || (e instanceof RangeError && !isAllocationFailure(e));
}
