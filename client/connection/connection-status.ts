// The states of the session connection (types only, so pure modules can use them without the socket).

export type ConnectionStatus =
  /** First connection attempt. */
  | "connecting"
  /** Socket open, `start` sent, waiting for `ready`. */
  | "handshake"
  | "ready"
  /** Lost the connection; partysocket is retrying with backoff. */
  | "reconnecting"
  /**
   * The server let the connection go after a long time with nobody speaking or typing (close code
   * CLOSE_CODES.idle): no retry until the user comes back (`resume()`).
   */
  | "asleep"
  /** The server says this session does not exist (no retry). */
  | "not-found"
  | "closed";
