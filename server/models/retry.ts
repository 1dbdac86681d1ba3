// Bounded retries with exponential backoff for retryable Workers AI failures, and per-attempt timeouts.
import { AiCallError, abortError, classifyAiError, isAbort, type PipelineStage } from "./ai-errors.ts";

export interface RetryOptions {
  stage: PipelineStage;
  maxRetries: number;
  retryBaseMs: number;
  timeoutMs: number;
  signal: AbortSignal;
  onRetry?: (error: AiCallError, attempt: number) => void;
}

/** Reject with a TimeoutError after `ms`, or with an AbortError when `signal` aborts; whichever is first. */
export function withDeadline<T>(promise: Promise<T>, ms: number, signal: AbortSignal): Promise<T> {
  if (signal.aborted) return Promise.reject(abortError());
  return new Promise<T>((resolve, reject) => {
    const timer = setTimeout(() => {
      cleanup();
      reject(new DOMException(`no answer within ${ms} ms`, "TimeoutError"));
    }, ms);
    const onAbort = () => {
      cleanup();
      reject(abortError());
    };
    const cleanup = () => {
      clearTimeout(timer);
      signal.removeEventListener("abort", onAbort);
    };
    signal.addEventListener("abort", onAbort, { once: true });
    promise.then(
      (v) => {
        cleanup();
        resolve(v);
      },
      (e) => {
        cleanup();
        reject(e);
      },
    );
  });
}

/** Settle like `promise`, or reject with an AbortError as soon as `signal` aborts (the work itself is not stopped). */
export function abortable<T>(promise: Promise<T>, signal: AbortSignal): Promise<T> {
  if (signal.aborted) return Promise.reject(abortError());
  return new Promise<T>((resolve, reject) => {
    const onAbort = () => reject(abortError());
    signal.addEventListener("abort", onAbort, { once: true });
    promise.then(
      (v) => {
        signal.removeEventListener("abort", onAbort);
        resolve(v);
      },
      (e: unknown) => {
        signal.removeEventListener("abort", onAbort);
        reject(e);
      },
    );
  });
}

export function sleep(ms: number, signal: AbortSignal): Promise<void> {
  return withDeadline(new Promise<never>(() => {}), ms, signal).catch((e: unknown) => {
    if (e instanceof DOMException && e.name === "TimeoutError") return;
    throw e;
  });
}

/** Delay before retry `attempt` (1-based): base * 2^(attempt-1), with +-20% deterministic-enough jitter. */
export function backoffMs(attempt: number, baseMs: number): number {
  const exp = baseMs * 2 ** (attempt - 1);
  return Math.round(exp * (0.8 + Math.random() * 0.4));
}

/**
 * Run `attempt` until it succeeds, fails for good, or the turn is cancelled. Returns the retries used too.
 * Each attempt gets its own signal: an attempt that misses its deadline is aborted before the next
 * one starts, so a slow upstream call never runs (and bills) alongside its retry.
 */
export async function withRetry<T>(attempt: (signal: AbortSignal) => Promise<T>, o: RetryOptions): Promise<{ value: T; retries: number }> {
  for (let retries = 0; ; retries++) {
    if (o.signal.aborted) throw abortError();
    const attemptAbort = new AbortController();
    const running = attempt(AbortSignal.any([o.signal, attemptAbort.signal]));
    try {
      return { value: await withDeadline(running, o.timeoutMs, o.signal), retries };
    } catch (err) {
      if (!isAbort(err, o.signal)) {
        attemptAbort.abort(err);
        running.catch(() => {}); // its own rejection (AbortError) is expected now
      }
      if (isAbort(err, o.signal)) throw abortError();
      const classified = classifyAiError(err, o.stage);
      if (!classified.retryable || retries >= o.maxRetries) throw classified;
      o.onRetry?.(classified, retries + 1);
      await sleep(backoffMs(retries + 1, o.retryBaseMs), o.signal);
    }
  }
}
