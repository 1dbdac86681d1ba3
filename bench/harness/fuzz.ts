// `npm run bench -- --fuzz N`: the fuzz test's inputs (test/support/fuzz-inputs.ts), N of them, against one
// live session in workerd with the flood limits raised; then a valid turn. Prints what came back per
// error code, whether the socket stayed open and whether the conversation still works. Loopback only.
import WebSocket from "ws";
import { ErrorCode, PROTOCOL_VERSION, checkAudioFrame, parseClientMessage } from "../../shared/protocol.ts";
import { FUZZ_LIMIT_VARS, fuzzInputs } from "../../test/support/fuzz-inputs.ts";
import { DEFAULT_LATENCIES } from "./latency-model.ts";
import { BASELINE_TURN_VARS, sessionTarget, startSystem } from "./server.ts";
import { benchSession } from "./session-access.ts";

export interface FuzzResult {
  inputs: number;
  seed: number;
  durationMs: number;
  /** Inputs the protocol module says are bad (parse or audio-frame check). */
  expectedErrors: number;
  errorsByCode: Record<string, number>;
  unknownCodes: number;
  closed: boolean;
  validTurnAfter: boolean;
}

const BATCH = 250;

export async function runFuzz(o: { inputs: number; seed: number; log: (line: string) => void }): Promise<FuzzResult> {
  const t0 = performance.now();
  const sut = await startSystem({
    latencies: DEFAULT_LATENCIES,
    silenceMs: 500,
    naive: false,
    parleyVars: { ...BASELINE_TURN_VARS, ...FUZZ_LIMIT_VARS },
  });
  const errorsByCode: Record<string, number> = {};
  let unknownCodes = 0;
  let closed = false;
  const waiters: ((m: Record<string, unknown>) => void)[] = [];
  const target = sessionTarget(sut, await benchSession());
  const ws = new WebSocket(target.url, target.protocols, { perMessageDeflate: false });
  try {
    await new Promise<void>((resolve, reject) => {
      ws.once("error", reject);
      ws.on("close", () => (closed = true));
      ws.on("message", (data: Buffer, isBinary: boolean) => {
        if (isBinary) return;
        const m = JSON.parse(data.toString()) as Record<string, unknown>;
        if (m.type === "ready") return resolve();
        if (m.type === "error") {
          const code = String(m.code);
          errorsByCode[code] = (errorsByCode[code] ?? 0) + 1;
          if (!ErrorCode.safeParse(code).success) unknownCodes++;
        }
        for (const w of waiters.slice()) w(m);
      });
    });
    const recent: string[] = [];
    waiters.push((m) => {
      recent.push(JSON.stringify(m).slice(0, 160));
      if (recent.length > 8) recent.shift();
    });
    const next = (pred: (m: Record<string, unknown>) => boolean, timeoutMs = 15_000) =>
      new Promise<Record<string, unknown>>((resolve, reject) => {
        const timer = setTimeout(
          () =>
            reject(new Error(`fuzz: no answer in time; last messages:\n${recent.join("\n")}\nworkerd:\n${sut.logs.slice(-5).join("\n")}`)),
          timeoutMs,
        );
        const w = (m: Record<string, unknown>) => {
          if (!pred(m)) return;
          clearTimeout(timer);
          waiters.splice(waiters.indexOf(w), 1);
          resolve(m);
        };
        waiters.push(w);
      });
    ws.send(JSON.stringify({ type: "start", protocol: PROTOCOL_VERSION }));
    let expectedErrors = 0;
    let sent = 0;
    for (const input of fuzzInputs(o.seed, o.inputs)) {
      if (closed) break;
      if (typeof input.data === "string") {
        if (!parseClientMessage(input.data).ok) expectedErrors++;
      } else if (checkAudioFrame(input.data.byteLength)) expectedErrors++;
      ws.send(input.data);
      if (++sent % BATCH === 0) {
        const t = -sent;
        const pong = next((m) => m.type === "pong" && m.t === t);
        ws.send(JSON.stringify({ type: "ping", t }));
        await pong;
        if (sent % 10_000 === 0) o.log(`fuzz: ${sent} inputs`);
      }
    }
    let validTurnAfter = false;
    if (!closed) {
      ws.send(JSON.stringify({ type: "cancel" }));
      const transcript = next((m) => m.type === "transcript" && m.text === "Still with me?");
      ws.send(JSON.stringify({ type: "text", text: "Still with me?" }));
      const turnId = String((await transcript).turnId);
      const done = await next((m) => m.type === "reply-done" && m.replyId === turnId.replace(/^t-/, "r-"));
      validTurnAfter = done.status === "complete";
    }
    return {
      inputs: sent,
      seed: o.seed,
      durationMs: Math.round(performance.now() - t0),
      expectedErrors,
      errorsByCode,
      unknownCodes,
      closed,
      validTurnAfter,
    };
  } finally {
    ws.terminate();
    await sut.dispose();
  }
}

export function formatFuzzReport(r: FuzzResult): string {
  const answered = Object.entries(r.errorsByCode)
    .filter(([c]) => c !== "rate_limited")
    .reduce((n, [, v]) => n + v, 0);
  const ok = !r.closed && r.unknownCodes === 0 && answered >= r.expectedErrors && r.validTurnAfter;
  return [
    `Fuzz: ${r.inputs} inputs (seed ${r.seed}) against one live session in ${(r.durationMs / 1000).toFixed(1)} s; ${r.expectedErrors} bad by the protocol's own checks.`,
    `Errors by code: ${JSON.stringify(r.errorsByCode)}${r.unknownCodes ? `, ${r.unknownCodes} with codes the protocol does not have` : ""}.`,
    `Socket ${r.closed ? "CLOSED" : "stayed open"}; a valid turn afterwards ${r.validTurnAfter ? "completed" : "FAILED"}.`,
    `  ${ok ? "MET   " : "MISSED"} every bad input answered with a coded error, no crash or close, the conversation still works`,
  ].join("\n");
}
