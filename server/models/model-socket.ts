// Streaming models (Flux, Nova-3 live) answer `env.AI.run(model, inputs, { websocket: true })` with a
// WebSocket. A WebSocket cannot cross a JS RPC boundary, so the offline stand-in and the test fake
// (service bindings) answer with an RPC object of the same meaning instead (`RpcModelSocket`). This
// module turns either into one small interface, so recognizers never see the difference
// (docs/workers-ai.md, "Streaming recognition").

import type { z } from "zod";

export type SocketData = string | ArrayBuffer;

/** A model's JSON text message checked against `schema`; null for binary, malformed or unexpected messages. */
export function parseSocketJson<T extends z.ZodType>(data: SocketData, schema: T): z.infer<T> | null {
  if (typeof data !== "string") return null;
  let raw: unknown;
  try {
    raw = JSON.parse(data);
  } catch {
    return null;
  }
  const parsed = schema.safeParse(raw);
  return parsed.success ? parsed.data : null;
}

export interface ModelSocketHandlers {
  message(data: SocketData): void;
  /** The socket is gone (closed by either side, or broken). Called once. */
  close(code: number, reason: string): void;
}

export interface ModelSocket {
  /** Binary frames are audio; strings are JSON control messages. Never throws on a closed socket. */
  send(data: Uint8Array | string): void;
  close(code?: number, reason?: string): void;
}

/**
 * What a stand-in returns in place of a WebSocket. `listen` must keep (dup) its callbacks: RPC stubs
 * passed as arguments are released when the call returns. Calls on one stub arrive in order.
 */
export interface RpcModelSocket {
  listen(onMessage: (data: string | Uint8Array) => void, onClose: (code: number, reason: string) => void): void | Promise<void>;
  send(data: Uint8Array | string): void | Promise<void>;
  close(code?: number, reason?: string): void | Promise<void>;
}

/** The part of a Workers WebSocket used here (declared so this module also typechecks outside workerd). */
interface AcceptableSocket {
  accept(): void;
  binaryType?: string;
  send(data: Uint8Array | string): void;
  close(code?: number, reason?: string): void;
  addEventListener(type: "message", listener: (e: { data: unknown }) => void): void;
  addEventListener(type: "close", listener: (e: { code: number; reason: string }) => void): void;
  addEventListener(type: "error", listener: () => void): void;
}

function isResponseWithSocket(value: unknown): value is { webSocket: AcceptableSocket } {
  return typeof value === "object" && value !== null && "webSocket" in value && (value as { webSocket: unknown }).webSocket != null;
}

/** Wire a model's answer to `run(..., { websocket: true })` to `handlers`. Throws if it is not a socket. */
export async function adoptModelSocket(answer: unknown, handlers: ModelSocketHandlers): Promise<ModelSocket> {
  let closed = false;
  const closeOnce = (code: number, reason: string) => {
    if (closed) return;
    closed = true;
    handlers.close(code, reason);
  };
  if (isResponseWithSocket(answer)) {
    const ws = answer.webSocket;
    ws.accept();
    // Recent compatibility dates deliver binary messages as Blobs; the handlers take bytes.
    ws.binaryType = "arraybuffer";
    ws.addEventListener("message", (e) => {
      if (!closed) handlers.message(e.data as SocketData);
    });
    ws.addEventListener("close", (e) => closeOnce(e.code, e.reason));
    ws.addEventListener("error", () => closeOnce(1006, "socket error"));
    return {
      send(data) {
        if (closed) return;
        try {
          ws.send(data);
        } catch {
          closeOnce(1006, "send failed");
        }
      },
      close(code = 1000, reason = "") {
        try {
          ws.close(code, reason);
        } catch {
          // already closing
        }
        closeOnce(code, reason);
      },
    };
  }
  // An RPC stub is a callable proxy: typeof "function", and any property reads as a method.
  if (
    (typeof answer !== "object" && typeof answer !== "function") ||
    answer === null ||
    typeof (answer as { listen?: unknown }).listen !== "function"
  ) {
    throw new Error("the model did not answer with a WebSocket");
  }
  const rpc = answer as RpcModelSocket;
  await rpc.listen(
    (data) => {
      if (closed) return;
      if (typeof data === "string") handlers.message(data);
      else handlers.message(data.buffer.slice(data.byteOffset, data.byteOffset + data.byteLength) as ArrayBuffer);
    },
    (code, reason) => closeOnce(code, reason),
  );
  const broken = () => closeOnce(1006, "stand-in socket lost");
  return {
    send(data) {
      if (closed) return;
      try {
        void Promise.resolve(rpc.send(data)).catch(broken);
      } catch {
        broken();
      }
    },
    close(code = 1000, reason = "") {
      if (!closed) {
        try {
          void Promise.resolve(rpc.close(code, reason)).catch(() => {});
        } catch {
          // the stub is gone already
        }
      }
      closeOnce(code, reason);
    },
  };
}
