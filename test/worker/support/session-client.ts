// A WebSocket client for Worker tests: connects to a session through the Worker's own fetch handler,
// records every frame in order, and waits for the ones a test cares about.
import { env, exports } from "cloudflare:workers";
import { KEY_SUBPROTOCOL_PREFIX, SESSION_SUBPROTOCOL, ServerMessage, type ClientMessageInput } from "../../../shared/protocol.ts";
import { mintSessionId, signKey } from "../../../server/access/session-keys.ts";
import type { FakeCall, FakeScenario, LiveCallLog } from "../../fake-ai/worker.ts";
import type { Transcript } from "../../../server/transcript/transcript.ts";

export type Frame = ServerMessage | { type: "binary"; data: ArrayBuffer };

export interface FakeAiControl {
  configure(session: string, scenario: FakeScenario): Promise<void>;
  calls(session: string): Promise<FakeCall[]>;
  liveCalls(session: string): Promise<LiveCallLog[]>;
}

/** The fake Workers AI bound as AI, with its test-control RPC methods. */
export const fakeAi = env.AI as unknown as FakeAiControl;

/** A session id as the server mints them (tests sign its owner key themselves, see ownerKeyOf). */
export function newSessionId(): string {
  return mintSessionId();
}

/** The owner key the Worker would have issued for this session (the tests share its SESSION_SECRET). */
export function ownerKeyOf(sessionId: string): Promise<string> {
  return signKey(env.SESSION_SECRET!, sessionId, { role: "owner" });
}

/**
 * Each test client is its own visitor (a distinct CF-Connecting-IP), so the per-address limits of
 * wrangler.toml never couple unrelated tests; access.test.ts pins those limits.
 */
export function visitorAddress(): string {
  const b = crypto.getRandomValues(new Uint8Array(3));
  return `10.${b[0]}.${b[1]}.${b[2]}`;
}

export class SessionClient {
  readonly frames: Frame[] = [];
  private waiters: (() => void)[] = [];
  closed = false;
  /** The close frame's code and reason, once the socket closed. */
  closeCode: number | null = null;
  closeReason = "";

  private constructor(
    readonly sessionId: string,
    readonly ws: WebSocket,
  ) {
    ws.addEventListener("message", (ev: MessageEvent) => {
      const frame: Frame =
        typeof ev.data === "string" ? ServerMessage.parse(JSON.parse(ev.data)) : { type: "binary", data: ev.data as ArrayBuffer };
      this.frames.push(frame);
      for (const w of this.waiters.splice(0)) w();
    });
    ws.addEventListener("close", (ev: CloseEvent) => {
      this.closed = true;
      this.closeCode = ev.code;
      this.closeReason = ev.reason;
      for (const w of this.waiters.splice(0)) w();
    });
  }

  /** `headers`: extra request headers, e.g. `cf-connecting-ip` as Cloudflare sets it (each client gets its own address otherwise). */
  static async connect(sessionId: string, { headers = {} }: { headers?: Record<string, string> } = {}): Promise<SessionClient> {
    const key = await ownerKeyOf(sessionId);
    const h = new Headers({
      Upgrade: "websocket",
      "Sec-WebSocket-Protocol": `${SESSION_SUBPROTOCOL}, ${KEY_SUBPROTOCOL_PREFIX}${key}`,
      "CF-Connecting-IP": visitorAddress(),
    });
    for (const [name, value] of Object.entries(headers)) h.set(name, value);
    const res = await exports.default.fetch(`http://parley.test/parties/voice-session/${sessionId}`, { headers: h });
    if (res.status !== 101 || !res.webSocket) throw new Error(`upgrade failed: ${res.status} ${await res.text()}`);
    const ws = res.webSocket;
    const client = new SessionClient(sessionId, ws);
    ws.accept();
    ws.binaryType = "arraybuffer"; // workerd's client side delivers Blobs otherwise
    await client.waitFor("ready");
    return client;
  }

  send(message: ClientMessageInput | Record<string, unknown>): void {
    this.ws.send(JSON.stringify(message));
  }

  sendRaw(data: string | ArrayBuffer): void {
    this.ws.send(data);
  }

  /** Send PCM as 20 ms frames (320 samples), as the browser does. */
  sendAudio(pcm: Int16Array, frameSamples = 320): void {
    for (let i = 0; i < pcm.length; i += frameSamples) {
      this.ws.send(pcm.slice(i, i + frameSamples).buffer);
    }
  }

  of<T extends Frame["type"]>(type: T): Extract<Frame, { type: T }>[] {
    return this.frames.filter((f): f is Extract<Frame, { type: T }> => f.type === type);
  }

  /** Wait for the first frame (at or after index `from`) that matches. */
  async waitFor<T extends Frame["type"]>(
    type: T,
    pred: (f: Extract<Frame, { type: T }>) => boolean = () => true,
    { from = 0, timeoutMs = 8000 } = {},
  ): Promise<Extract<Frame, { type: T }>> {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      const hit = this.frames
        .slice(from)
        .find((f): f is Extract<Frame, { type: T }> => f.type === type && pred(f as Extract<Frame, { type: T }>));
      if (hit) return hit;
      if (this.closed) throw new Error(`socket closed while waiting for ${type}`);
      const left = deadline - Date.now();
      if (left <= 0) throw new Error(`timed out waiting for ${type}; got ${this.frames.map((f) => f.type).join(",")}`);
      await new Promise<void>((resolve) => {
        const t = setTimeout(resolve, Math.min(left, 250));
        this.waiters.push(() => {
          clearTimeout(t);
          resolve();
        });
      });
    }
  }

  /**
   * Act like a client whose playback of the reply ran to its end: report `finished` (the server keeps
   * the reply `speaking` until then) and wait until the reply has settled (`reply-heard`).
   */
  async playedOut(replyId: string) {
    const segs = this.of("segment").filter((s) => s.replyId === replyId);
    const last = segs[segs.length - 1];
    this.send({ type: "playback", replyId, segment: last?.index ?? 0, playedMs: last?.durationMs ?? 0, state: "finished" });
    return this.waitFor("reply-heard", (h) => h.replyId === replyId);
  }

  close(): void {
    this.ws.close(1000, "test done");
  }
}

export { silence, utterance } from "../../support/signals.ts";

/** Poll `probe` until it gives a value (work that lands after a turn settles: index, recordings, closes). */
export async function until<T>(probe: () => T | undefined | Promise<T | undefined>, what: string, timeoutMs = 5_000): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const v = await probe();
    if (v !== undefined) return v;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 25));
  }
}

/** Until the server has closed `c`'s socket. */
export function waitClosed(c: SessionClient, timeoutMs = 8_000): Promise<true> {
  return until(() => (c.closed ? true : undefined), "the socket to close", timeoutMs);
}

/** A new session, the fake Workers AI set to `scenario` for it, and a client connected to it. */
export async function openSession(scenario?: FakeScenario): Promise<{ id: string; c: SessionClient }> {
  const id = newSessionId();
  if (scenario) await fakeAi.configure(id, scenario);
  return { id, c: await SessionClient.connect(id) };
}

/**
 * Say `said` (typed text, or speech: PCM sent as 20 ms frames, as the browser does) and wait for the
 * reply that answers it.
 */
export function speakAndWait(c: SessionClient, said: string | Int16Array): Promise<Extract<Frame, { type: "reply-done" }>> {
  const from = c.frames.length;
  if (typeof said === "string") c.send({ type: "text", text: said });
  else c.sendAudio(said);
  return c.waitFor("reply-done", undefined, { from });
}

export async function transcriptOf(sessionId: string) {
  const res = await exports.default.fetch(`http://parley.test/api/sessions/${sessionId}`, {
    headers: { Authorization: `Bearer ${await ownerKeyOf(sessionId)}`, "CF-Connecting-IP": visitorAddress() },
  });
  if (!res.ok) throw new Error(`transcript of ${sessionId}: ${res.status} ${await res.text()}`);
  return res.json<Transcript>();
}
