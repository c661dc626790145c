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
