// Why the microphone could not start (types and the error class only, so pure code can use them).

export type MicErrorKind = "denied" | "no-device" | "busy" | "insecure" | "unsupported" | "other";

export class MicError extends Error {
  override name = "MicError";
  constructor(
    readonly kind: MicErrorKind,
    message: string,
  ) {
    super(message);
  }
}
