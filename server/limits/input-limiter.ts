// Flood limits of one session: every JSON message and audio frame is admitted against three token buckets
// — its connection's, its client IP's within the session, and the session's (all connections together) —
// so opening more connections does not multiply the allowance. A connection that keeps going over its
// limit is told once (`rate_limited`), then closed (1008) if it is still over after a grace period.
// Pure: no Cloudflare imports; the Durable Object calls admit() and acts on the verdict.
import { TokenBucket } from "./token-bucket.ts";

export interface RateLimits {
  /** JSON messages per second per connection (bursts of 2 s), default 50. */
  messagesPerSecond: number;
  /** JSON messages per second per client IP within the session, default 60. */
  ipMessagesPerSecond: number;
  /** JSON messages per second per session, default 100. */
  sessionMessagesPerSecond: number;
  /** Upstream audio as a multiple of real time per connection, default 1.5. */
  audioRealtimeFactor: number;
  /** Upstream audio as a multiple of real time per client IP within the session, default 2. */
  ipAudioRealtimeFactor: number;
  /** Upstream audio as a multiple of real time per session, default 4. */
  sessionAudioRealtimeFactor: number;
  /** Typed turns (each starts a reply: model calls) per second, at every level: a burst of them only supersedes itself; default 2. */
  turnsPerSecond: number;
  /** A connection still over its limit this long after it first went over is closed (1008) (ms), default 1000... */
  closeAfterMs: number;
  /** ...or sooner, once this many of its inputs were dropped in a row of over-limit input (a burst flood); default 1000. */
  closeAfterDrops: number;
}

/** `turn`: a message that starts a turn, admitted as a `message` first. */
export type InputKind = "message" | "audio" | "turn";
export type LimitScope = "connection" | "ip" | "session";

export type Verdict =
  | { ok: true }
  | {
      ok: false;
      /** Which limit dropped the input. */
      scope: LimitScope;
      /** Tell the client (at most once a second per connection). */
      warn: boolean;
      /** Close the connection with 1008: it kept going over after its grace period. */
      close: boolean;
    };

/** Burst allowance of every bucket, in seconds of its sustained rate. */
const BURST_SECONDS = 2;
/** Warnings to one connection at most this often. */
const WARN_EVERY_MS = 1_000;
/** How fast a connection's recent use decays (its share of a shared limit is judged on about this window). */
const RECENT_WINDOW_MS = 1_000;

type Buckets = Record<InputKind, TokenBucket>;

interface Group {
  buckets: Buckets;
  members: number;
}

interface ConnectionState {
  ip: string;
  buckets: Buckets;
  /** Recent use per kind (decaying sum over about RECENT_WINDOW_MS), to find who drains a shared limit. */
  recent: Record<InputKind, { value: number; at: number }>;
  /** First over-limit input of the current run of them (null: not over), and the latest one. */
  overSince: number | null;
  lastOverAt: number;
  /** Inputs dropped since overSince. */
  drops: number;
  lastWarnAt: number;
}

export class InputLimiter {
  private readonly limits: RateLimits;
  private readonly audioBytesPerSecond: number;
  private readonly minAudioBurstBytes: number;
  private readonly session: Buckets;
  private readonly ips = new Map<string, Group>();
  private readonly connections = new Map<string, ConnectionState>();

  /**
   * `audioBytesPerSecond`: real-time upstream audio (sample rate x bytes per sample); `minAudioBurstBytes`:
   * no audio bucket holds less (two of the largest frames a client may send).
   */
  constructor(limits: RateLimits, audioBytesPerSecond: number, now: number, minAudioBurstBytes = 0) {
    this.limits = limits;
    this.audioBytesPerSecond = audioBytesPerSecond;
    this.minAudioBurstBytes = minAudioBurstBytes;
    this.session = this.buckets(limits.sessionMessagesPerSecond, limits.sessionAudioRealtimeFactor, now);
  }

  private buckets(messagesPerSecond: number, audioFactor: number, now: number): Buckets {
    const bytes = this.audioBytesPerSecond * audioFactor;
    const turns = this.limits.turnsPerSecond;
    return {
      message: new TokenBucket(messagesPerSecond, messagesPerSecond * BURST_SECONDS, now),
      audio: new TokenBucket(bytes, Math.max(bytes * BURST_SECONDS, this.minAudioBurstBytes), now),
      turn: new TokenBucket(turns, turns * BURST_SECONDS, now),
    };
  }

  /** A connection from `ip` joined (idempotent: joining again keeps its buckets). */
  join(connection: string, ip: string, now: number): void {
    if (this.connections.has(connection)) return;
    let group = this.ips.get(ip);
    if (!group) {
      group = { buckets: this.buckets(this.limits.ipMessagesPerSecond, this.limits.ipAudioRealtimeFactor, now), members: 0 };
      this.ips.set(ip, group);
    }
    group.members++;
    this.connections.set(connection, {
      ip,
      buckets: this.buckets(this.limits.messagesPerSecond, this.limits.audioRealtimeFactor, now),
      recent: { message: { value: 0, at: now }, audio: { value: 0, at: now }, turn: { value: 0, at: now } },
      overSince: null,
      lastOverAt: -Infinity,
      drops: 0,
      lastWarnAt: -Infinity,
    });
  }

  leave(connection: string): void {
    const c = this.connections.get(connection);
    if (!c) return;
    this.connections.delete(connection);
    const group = this.ips.get(c.ip);
    if (group && --group.members <= 0) this.ips.delete(c.ip);
  }

  get connectionCount(): number {
    return this.connections.size;
  }

  /**
   * Admit `cost` (1 per message, bytes for audio) from `connection` (joined first). Nothing is taken
   * from any bucket unless all three have room.
   */
  admit(connection: string, kind: InputKind, cost: number, now: number): Verdict {
    const c = this.connections.get(connection);
    if (!c) throw new Error(`connection ${connection} has not joined`);
    const recent = c.recent[kind];
    recent.value = recent.value * Math.exp(-Math.max(0, now - recent.at) / RECENT_WINDOW_MS) + cost;
    recent.at = now;
    const ip = this.ips.get(c.ip)!;
    let scope: LimitScope | null = null;
    if (!c.buckets[kind].has(cost, now)) scope = "connection";
    else if (!ip.buckets[kind].has(cost, now)) scope = "ip";
    else if (!this.session[kind].has(cost, now)) scope = "session";
    if (scope === null) {
      c.buckets[kind].take(cost, now);
      ip.buckets[kind].take(cost, now);
      this.session[kind].take(cost, now);
      return { ok: true };
    }
    // A shared limit is blamed on the connections taking more than their share of it; the others' input
    // is dropped too (the limit is the limit) but they are not closed for someone else's flood.
    const blamed = scope === "connection" || recent.value > this.shareOf(scope, kind, ip.members);
    let close = false;
    if (blamed) {
      if (c.overSince === null || now - c.lastOverAt > this.limits.closeAfterMs) {
        c.overSince = now;
        c.drops = 0;
      }
      c.lastOverAt = now;
      c.drops++;
      close = now - c.overSince >= this.limits.closeAfterMs || c.drops >= this.limits.closeAfterDrops;
    }
    const warn = !close && now - c.lastWarnAt >= WARN_EVERY_MS;
    if (warn) c.lastWarnAt = now;
    return { ok: false, scope, warn, close };
  }

  /** A fair share of a shared limit's sustained rate (per RECENT_WINDOW_MS) for one of its connections. */
  private shareOf(scope: "ip" | "session", kind: InputKind, ipMembers: number): number {
    const l = this.limits;
    const perSecond =
      kind === "turn"
        ? l.turnsPerSecond
        : kind === "message"
          ? scope === "ip"
            ? l.ipMessagesPerSecond
            : l.sessionMessagesPerSecond
          : (scope === "ip" ? l.ipAudioRealtimeFactor : l.sessionAudioRealtimeFactor) * this.audioBytesPerSecond;
    const members = scope === "ip" ? ipMembers : this.connections.size;
    return (perSecond * (RECENT_WINDOW_MS / 1000)) / Math.max(1, members);
  }
}
