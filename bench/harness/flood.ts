// The flood row of `npm run bench`: one connection sends N small text messages as fast as it can while
// two bystanders ping — one in another session, one in the flooded session — and workerd's RSS is
// sampled. Measures what a flood costs everyone else: the other session's ping round trips during the
// flood, how long the flooded session takes to answer pings promptly again once the flood stops, and
// whether workerd's memory comes back. Loopback only; bounded in messages and time.
import WebSocket from "ws";
import { PROTOCOL_VERSION } from "../../shared/protocol.ts";
import { dist, type Dist } from "./analyze.ts";
import { DEFAULT_LATENCIES } from "./latency-model.ts";
import { machineBusyOver, processCpuMs, rssMiB } from "./proc.ts";
import { sessionTarget, startSystem, type SessionTarget, type SystemUnderTest } from "./server.ts";
import { benchSession } from "./session-access.ts";

export const FLOOD_TARGETS = { otherSessionP99Ms: 50, recoveryMs: 2_000, memoryGrowthPct: 10 };

export interface FloodOptions {
  /** Text messages the flooder sends, back to back. */
  messages: number;
  /** What each flood message is (a small valid `ping` by default; a Buffer is sent as a binary frame). */
  message: string | Buffer;
  /** Bystanders ping this often. */
  pingEveryMs: number;
  /** Pings before the flood, for the quiet round trip. */
  quietMs: number;
  /** A pong slower than this (or none) means the session is not answering promptly. */
  promptMs: number;
  /** After the flood ends: how long bystanders go on pinging, then how long before memory is read again. */
  afterMs: number;
  settleMs: number;
  /** Hard stop for the whole row. */
  deadlineMs: number;
  /** A flood of the same size into a session of its own first, so code warm-up is not counted as the flood's memory. */
  warmup: boolean;
  /** Parley vars on top of the benchmark's defaults (e.g. limits). */
  parleyVars?: Record<string, string>;
  signal?: AbortSignal | undefined;
  log: (line: string) => void;
}

export const DEFAULT_FLOOD_OPTIONS: FloodOptions = {
  messages: 10_000,
  message: JSON.stringify({ type: "ping" }),
  pingEveryMs: 20,
  quietMs: 1_000,
  promptMs: FLOOD_TARGETS.otherSessionP99Ms,
  afterMs: 4_000,
  warmup: true,
  settleMs: 3_000,
  deadlineMs: 120_000,
  log: (line) => console.error(line),
};

export interface PingSample {
  /** ms since the flood started (negative: before it). */
  sentAt: number;
  /** null: no pong by the end of the run (dropped by a limit, or never answered). */
  rttMs: number | null;
}

export interface FloodResult {
  version: 1;
  startedAt: string;
  messages: number;
  /** Flood start -> the flooder's last byte written (or its socket closed by the server), ms. */
  floodMs: number;
  flooder: {
    closeCode: number | null;
    closeReason: string | null;
    closedAfterMs: number | null;
    errors: Record<string, number>;
    pongs: number;
  };
  machineBusyPct: number;
  other: { quiet: Dist; during: Dist; lostDuring: number; samples: PingSample[] };
  same: {
    quiet: Dist;
    during: Dist;
    lostDuring: number;
    errors: Record<string, number>;
    closed: boolean;
    recoveryMs: number | null;
    samples: PingSample[];
  };
  /** The other bystander too: from the flood's end until its pongs are prompt again (0 if they never stopped). */
  otherRecoveryMs: number | null;
  rss: { beforeMiB: number; peakMiB: number; afterMiB: number; growthPct: number };
  /** The warm-up flood (a fresh workerd's first): its RSS growth, which includes compiling the code paths. */
  warmupRss: { beforeMiB: number; afterMiB: number; growthPct: number } | null;
  /** workerd CPU from the flood's start until the bystanders were prompt again, per flood message (µs). */
  workerdCpuUsPerMessage: number;
}

/** A bystander: opens a session, sends `start`, then pings on a timer and keeps every round trip. */
class Pinger {
  readonly samples: PingSample[] = [];
  readonly errors: Record<string, number> = {};
  closed = false;
  private readonly sent = new Map<number, PingSample>();
  private timer: NodeJS.Timeout | undefined;
  private ws!: WebSocket;
  private t0 = 0;

  async open(target: SessionTarget): Promise<void> {
    this.ws = await openSession(target, (msg, t) => {
      if (msg.type === "pong" && typeof msg.t === "number") {
        const s = this.sent.get(msg.t);
        if (s) {
          s.rttMs = t - msg.t;
          this.sent.delete(msg.t);
        }
      } else if (msg.type === "error") this.errors[String(msg.code)] = (this.errors[String(msg.code)] ?? 0) + 1;
    });
    this.ws.on("close", () => (this.closed = true));
  }

  start(everyMs: number, origin: () => number): void {
    this.timer = setInterval(() => {
      if (this.closed) return;
      const t = performance.now();
      const s: PingSample = { sentAt: t - origin(), rttMs: null };
      this.samples.push(s);
      this.sent.set(t, s);
      this.ws.send(JSON.stringify({ type: "ping", t }));
    }, everyMs);
  }

  stop(): void {
    clearInterval(this.timer);
  }

  /** Pings still unanswered. */
  get outstanding(): number {
    return this.sent.size;
  }

  close(): void {
    this.stop();
    this.ws.terminate();
  }
}

type Msg = Record<string, unknown> & { type: string };

function openSession(target: SessionTarget, onMessage: (msg: Msg, t: number) => void, timeoutMs = 15_000): Promise<WebSocket> {
  return new Promise((resolve, reject) => {
    const ws = new WebSocket(target.url, target.protocols, { perMessageDeflate: false });
    const timer = setTimeout(() => (ws.terminate(), reject(new Error(`no ready from ${target.url}`))), timeoutMs);
    ws.on("error", (e) => (clearTimeout(timer), reject(e)));
    ws.on("message", (data: Buffer, isBinary: boolean) => {
      if (isBinary) return;
      const t = performance.now();
      const msg = JSON.parse(data.toString()) as Msg;
      if (msg.type === "ready") {
        clearTimeout(timer);
        ws.send(JSON.stringify({ type: "start", protocol: PROTOCOL_VERSION, mode: "push-to-talk" }));
        resolve(ws);
        return;
      }
      onMessage(msg, t);
    });
  });
}

/**
 * From `fromMs` on (ms since the flood started): how long until the bystander's pongs are prompt for
 * good — the send time of the first ping after which every ping got a pong within `promptMs`. null if
 * that never happened before the run ended.
 */
export function recoveryMs(samples: PingSample[], fromMs: number, promptMs: number): number | null {
  let firstGood: number | null = null;
  for (const s of samples) {
    if (s.sentAt < fromMs) continue;
    const good = s.rttMs !== null && s.rttMs <= promptMs;
    if (!good) firstGood = null;
    else firstGood ??= s.sentAt;
  }
  // The last few pings may still be in flight when the run stops: they do not count against recovery.
  return firstGood === null ? null : Math.max(0, Math.round(firstGood - fromMs));
}

function countsIn(samples: PingSample[], from: number, to: number) {
  const inWindow = samples.filter((s) => s.sentAt >= from && s.sentAt < to);
  return {
    during: dist(inWindow.filter((s) => s.rttMs !== null).map((s) => s.rttMs!)),
    lost: inWindow.filter((s) => s.rttMs === null).length,
  };
}

export async function runFlood(partial: Partial<FloodOptions> = {}): Promise<FloodResult> {
  const o: FloodOptions = { ...DEFAULT_FLOOD_OPTIONS, ...partial };
  const startedAt = new Date().toISOString();
  const machineBusyPct = Math.round((await machineBusyOver(1_000)) * 10) / 10;
  const sut: SystemUnderTest = await startSystem({
    latencies: DEFAULT_LATENCIES,
    silenceMs: 500,
    naive: false,
    ...(o.parleyVars ? { parleyVars: o.parleyVars } : {}),
  });
  const other = new Pinger();
  const same = new Pinger();
  let flooder: WebSocket | undefined;
  let peak = 0;
  const rssTimer = setInterval(() => (peak = Math.max(peak, rssMiB(sut.workerdPid))), 100);
  try {
    const r2 = (x: number) => Math.round(x * 10) / 10;
    let warmupRss: FloodResult["warmupRss"] = null;
    if (o.warmup) {
      const before = rssMiB(sut.workerdPid);
      const w = await openSession(sessionTarget(sut, await benchSession({ warmUp: true })), () => {});
      for (let i = 0; i < o.messages && w.readyState === WebSocket.OPEN; i++) w.send(o.message);
      while (w.readyState === WebSocket.OPEN && w.bufferedAmount > 0) await sleep(5);
      await sleep(o.settleMs);
      w.terminate();
      await sleep(500);
      const after = rssMiB(sut.workerdPid);
      warmupRss = { beforeMiB: r2(before), afterMiB: r2(after), growthPct: r2((100 * (after - before)) / before) };
      o.log(`warm-up flood: RSS ${warmupRss.beforeMiB} -> ${warmupRss.afterMiB} MiB`);
    }
    const flooded = sessionTarget(sut, await benchSession());
    await other.open(sessionTarget(sut, await benchSession()));
    await same.open(flooded);
    let floodStart = performance.now() + o.quietMs;
    const origin = () => floodStart;
    other.start(o.pingEveryMs, origin);
    same.start(o.pingEveryMs, origin);
    await sleep(o.quietMs);
    const rssBefore = rssMiB(sut.workerdPid);
    peak = rssBefore;

    const flood = {
      closeCode: null as number | null,
      closeReason: null as string | null,
      closedAfterMs: null as number | null,
      errors: {} as Record<string, number>,
      pongs: 0,
    };
    flooder = await openSession(flooded, (msg) => {
      if (msg.type === "pong") flood.pongs++;
      else if (msg.type === "error") flood.errors[String(msg.code)] = (flood.errors[String(msg.code)] ?? 0) + 1;
    });
    const ws = flooder;
    const closed = new Promise<void>((resolve) =>
      ws.on("close", (code: number, reason: Buffer) => {
        flood.closeCode = code;
        flood.closeReason = reason.toString();
        flood.closedAfterMs = Math.round(performance.now() - floodStart);
        resolve();
      }),
    );
    const cpu0 = processCpuMs(sut.workerdPid);
    floodStart = performance.now();
    for (let i = 0; i < o.messages && ws.readyState === WebSocket.OPEN; i++) ws.send(o.message);
    // The flood is over when its last byte left this process or the server closed the socket.
    const written = (async () => {
      while (ws.readyState === WebSocket.OPEN && ws.bufferedAmount > 0) await sleep(5);
    })();
    await Promise.race([written, closed]);
    const floodMs = Math.round(performance.now() - floodStart);
    o.log(
      `flood: ${o.messages} messages written in ${floodMs} ms${flood.closeCode !== null ? ` (closed ${flood.closeCode} after ${flood.closedAfterMs} ms)` : ""}`,
    );

    // Bystanders keep pinging until their pongs are prompt for `afterMs`, or the deadline.
    const deadline = performance.now() + o.deadlineMs;
    for (;;) {
      await sleep(250);
      const now = performance.now() - floodStart;
      const otherOk = recoveryMs(other.samples, floodMs, o.promptMs);
      const sameOk = same.closed ? 0 : recoveryMs(same.samples, floodMs, o.promptMs);
      const settled = otherOk !== null && sameOk !== null && now - floodMs - Math.max(otherOk, sameOk) >= o.afterMs;
      if (settled || performance.now() > deadline || o.signal?.aborted) break;
    }
    other.stop();
    same.stop();
    const floodCpuMs = processCpuMs(sut.workerdPid) - cpu0;
    // Pongs still in flight when the pinging stopped.
    for (let i = 0; i < 20 && other.outstanding + same.outstanding > 0; i++) await sleep(50);
    if (flooder.readyState === WebSocket.OPEN) flooder.terminate();
    await sleep(o.settleMs);
    const rssAfter = rssMiB(sut.workerdPid);
    // "During": from the first flood message until the recovery allowance after its end — the server
    // digests what it was sent after the sender is done, and that is when bystanders wait.
    const end = Math.max(floodMs, flood.closedAfterMs ?? 0) + FLOOD_TARGETS.recoveryMs;
    const o1 = countsIn(other.samples, 0, end);
    const s1 = countsIn(same.samples, 0, end);
    const result: FloodResult = {
      version: 1,
      startedAt,
      messages: o.messages,
      floodMs,
      flooder: flood,
      machineBusyPct,
      other: { quiet: countsIn(other.samples, -Infinity, 0).during, during: o1.during, lostDuring: o1.lost, samples: other.samples },
      same: {
        quiet: countsIn(same.samples, -Infinity, 0).during,
        during: s1.during,
        lostDuring: s1.lost,
        errors: same.errors,
        closed: same.closed,
        recoveryMs: same.closed ? null : recoveryMs(same.samples, floodMs, o.promptMs),
        samples: same.samples,
      },
      otherRecoveryMs: recoveryMs(other.samples, floodMs, o.promptMs),
      rss: {
        beforeMiB: r2(rssBefore),
        peakMiB: r2(Math.max(peak, rssAfter)),
        afterMiB: r2(rssAfter),
        growthPct: r2((100 * (rssAfter - rssBefore)) / rssBefore),
      },
      warmupRss,
      // Includes the bystanders' pings and workerd's background over the window: an upper bound.
      workerdCpuUsPerMessage: r2((1000 * floodCpuMs) / o.messages),
    };
    return result;
  } finally {
    clearInterval(rssTimer);
    other.close();
    same.close();
    flooder?.terminate();
    await sut.dispose();
  }
}

/** Each flood target, met or not. */
export function floodChecks(r: FloodResult): { name: string; value: string; met: boolean }[] {
  const t = FLOOD_TARGETS;
  const lost = r.other.lostDuring;
  return [
    {
      name: `other session: ping p99 <= ${t.otherSessionP99Ms} ms during the flood, none lost`,
      value: `p99 ${r.other.during.p99} ms (n ${r.other.during.n}, ${lost} lost)`,
      met: r.other.during.n > 0 && r.other.during.p99 <= t.otherSessionP99Ms && lost === 0,
    },
    {
      name: `flooded session: pings prompt again within ${t.recoveryMs} ms of the flood's end`,
      value: r.same.recoveryMs === null ? (r.same.closed ? "bystander was closed" : "never") : `${r.same.recoveryMs} ms`,
      met: r.same.recoveryMs !== null && r.same.recoveryMs <= t.recoveryMs,
    },
    {
      name: `workerd memory back within ${t.memoryGrowthPct} % after the flood`,
      value: `${r.rss.beforeMiB} -> ${r.rss.afterMiB} MiB (${r.rss.growthPct >= 0 ? "+" : ""}${r.rss.growthPct} %, peak ${r.rss.peakMiB})`,
      met: r.rss.growthPct <= t.memoryGrowthPct,
    },
  ];
}

export function formatFloodReport(r: FloodResult): string {
  const out: string[] = [];
  out.push(
    `Flood: one connection sends ${r.messages} small text messages back to back (written in ${r.floodMs} ms); ` +
      `bystanders ping every ${DEFAULT_FLOOD_OPTIONS.pingEveryMs} ms in another session and in the flooded one. Machine ${r.machineBusyPct}% busy before.`,
  );
  const fl = r.flooder;
  out.push(
    `Flooder: ${fl.closeCode === null ? "not closed" : `closed ${fl.closeCode} "${fl.closeReason}" ${fl.closedAfterMs} ms after the flood began`}; ` +
      `${fl.pongs} pongs, errors ${JSON.stringify(fl.errors)}.`,
  );
  const trio = (d: Dist) => `${d.p50} / ${d.p95} / ${d.p99} (n ${d.n})`;
  out.push(`Ping RTT ms (p50 / p95 / p99):`);
  out.push(`  other session   quiet ${trio(r.other.quiet)}   during ${trio(r.other.during)}, ${r.other.lostDuring} unanswered`);
  out.push(
    `  flooded session quiet ${trio(r.same.quiet)}   during ${trio(r.same.during)}, ${r.same.lostDuring} unanswered; errors ${JSON.stringify(r.same.errors)}`,
  );
  out.push(
    `  recovery after the flood's end: flooded session ${r.same.recoveryMs ?? "–"} ms, other session ${r.otherRecoveryMs ?? "–"} ms`,
  );
  out.push(
    `workerd CPU ${r.workerdCpuUsPerMessage} µs per flood message (flood start -> bystanders prompt again, pings included)` +
      (r.warmupRss
        ? `; the warm-up flood on the fresh workerd grew RSS ${r.warmupRss.beforeMiB} -> ${r.warmupRss.afterMiB} MiB (+${r.warmupRss.growthPct} %, code warm-up included).`
        : "."),
  );
  out.push(`Targets:`);
  for (const c of floodChecks(r)) out.push(`  ${c.met ? "MET   " : "MISSED"} ${c.name}: ${c.value}`);
  return out.join("\n");
}

const sleep = (ms: number) => new Promise<void>((r) => setTimeout(r, ms));
