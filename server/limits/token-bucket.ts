// Token bucket for flood control: `ratePerSecond` sustained, up to `burst` at once.
export class TokenBucket {
  private readonly ratePerSecond: number;
  private readonly burst: number;
  private tokens: number;
  private last: number;

  constructor(ratePerSecond: number, burst: number, now: number) {
    this.ratePerSecond = ratePerSecond;
    this.burst = burst;
    this.tokens = burst;
    this.last = now;
  }

  /** Whether `cost` tokens are there now (refills, takes nothing). */
  has(cost: number, now: number): boolean {
    const elapsed = Math.max(0, now - this.last) / 1000;
    this.last = Math.max(this.last, now);
    this.tokens = Math.min(this.burst, this.tokens + elapsed * this.ratePerSecond);
    return this.tokens >= cost;
  }

  /** Take `cost` tokens if available; false means the caller is over its limit. */
  take(cost: number, now: number): boolean {
    if (!this.has(cost, now)) return false;
    this.tokens -= cost;
    return true;
  }
}
