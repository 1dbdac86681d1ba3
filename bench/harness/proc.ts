// CPU time and memory of a process from /proc (Linux), and machine-wide CPU use, sampled around a phase.
import { readdirSync, readFileSync } from "node:fs";
import { cpus } from "node:os";

const CLK_TCK = 100; // USER_HZ on Linux

/** utime + stime of the whole process (all threads, dead ones included), in ms. 10 ms resolution. */
export function processCpuMs(pid: number): number {
  const stat = readFileSync(`/proc/${pid}/stat`, "utf8");
  const fields = stat.slice(stat.lastIndexOf(")") + 2).split(" ");
  // fields[0] is field 3 (state); utime is field 14, stime field 15.
  return ((Number(fields[11]) + Number(fields[12])) * 1000) / CLK_TCK;
}

/** CPU ms per thread (tid -> utime + stime), to find the thread that saturates first. */
export function threadCpuMs(pid: number): Map<string, number> {
  const out = new Map<string, number>();
  let tids: string[] = [];
  try {
    tids = readdirSync(`/proc/${pid}/task`);
  } catch {
    return out;
  }
  for (const tid of tids) {
    try {
      const stat = readFileSync(`/proc/${pid}/task/${tid}/stat`, "utf8");
      const fields = stat.slice(stat.lastIndexOf(")") + 2).split(" ");
      out.set(tid, ((Number(fields[11]) + Number(fields[12])) * 1000) / CLK_TCK);
    } catch {
      // thread exited
    }
  }
  return out;
}

/** Resident set size in MiB. */
export function rssMiB(pid: number): number {
  const m = /VmRSS:\s+(\d+) kB/.exec(readFileSync(`/proc/${pid}/status`, "utf8"));
  return m ? Number(m[1]) / 1024 : NaN;
}

/** Busy and total jiffies of the whole machine. */
export function machineTicks(): { busy: number; total: number } {
  const line = readFileSync("/proc/stat", "utf8").split("\n")[0]!;
  const v = line.trim().split(/\s+/).slice(1).map(Number);
  const idle = (v[3] ?? 0) + (v[4] ?? 0);
  const total = v.reduce((a, b) => a + b, 0);
  return { busy: total - idle, total };
}

/** Machine CPU busy (% of all cores) over `ms`. */
export async function machineBusyOver(ms: number): Promise<number> {
  const a = machineTicks();
  await new Promise((r) => setTimeout(r, ms));
  const b = machineTicks();
  return b.total > a.total ? (100 * (b.busy - a.busy)) / (b.total - a.total) : NaN;
}

export interface ProcessUsage {
  wallMs: number;
  workerdCpuMs: number;
  /** CPU of workerd's busiest thread (its JavaScript runs on one thread), ms. */
  workerdBusiestThreadCpuMs: number;
  /** Bench process (clients + miniflare's Node side). */
  benchCpuMs: number;
  /** Machine CPU busy, % of all cores. */
  machineBusyPct: number;
  rssBeforeMiB: number;
  rssPeakMiB: number;
  rssAfterMiB: number;
}

/**
 * Samples a process: RSS from startMemory() (before sessions are opened) to stop(), peak every 200 ms;
 * CPU from start() (sessions open, audio about to flow) to stop().
 */
export class UsageMeter {
  private readonly pid: number;
  private t0 = 0;
  private cpu0 = 0;
  private threads0 = new Map<string, number>();
  private bench0: NodeJS.CpuUsage = { user: 0, system: 0 };
  private machine0 = { busy: 0, total: 0 };
  private rss0 = 0;
  private peak = 0;
  private timer: NodeJS.Timeout | undefined;

  constructor(pid: number) {
    this.pid = pid;
  }

  startMemory(): void {
    this.rss0 = rssMiB(this.pid);
    this.peak = this.rss0;
    this.timer = setInterval(() => {
      this.peak = Math.max(this.peak, rssMiB(this.pid));
    }, 200);
  }

  start(): void {
    this.t0 = performance.now();
    this.cpu0 = processCpuMs(this.pid);
    this.threads0 = threadCpuMs(this.pid);
    this.bench0 = process.cpuUsage();
    this.machine0 = machineTicks();
  }

  stop(): ProcessUsage {
    if (this.timer) clearInterval(this.timer);
    const bench = process.cpuUsage(this.bench0);
    const m = machineTicks();
    const rss = rssMiB(this.pid);
    const totalTicks = m.total - this.machine0.total;
    let busiest = 0;
    for (const [tid, ms] of threadCpuMs(this.pid)) busiest = Math.max(busiest, ms - (this.threads0.get(tid) ?? 0));
    return {
      wallMs: performance.now() - this.t0,
      workerdCpuMs: processCpuMs(this.pid) - this.cpu0,
      workerdBusiestThreadCpuMs: busiest,
      benchCpuMs: (bench.user + bench.system) / 1000,
      machineBusyPct: totalTicks > 0 ? (100 * (m.busy - this.machine0.busy)) / totalTicks : NaN,
      rssBeforeMiB: this.rss0,
      rssPeakMiB: Math.max(this.peak, rss),
      rssAfterMiB: rss,
    };
  }
}

export const CORES = cpus().length;
export const CPU_MODEL = cpus()[0]?.model ?? "unknown";
