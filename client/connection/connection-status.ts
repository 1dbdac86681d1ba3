// The states of the session connection (types only, so pure modules can use them without the socket).

export type ConnectionStatus =
  /** First connection attempt. */
  | "connecting"
  /** Socket open, `start` sent, waiting for `ready`. */
  | "handshake"
  | "ready"
  /** Lost the connection; partysocket is retrying with backoff. */
  | "reconnecting"
  /** The server says this session does not exist (no retry). */
  | "not-found"
  | "closed";
