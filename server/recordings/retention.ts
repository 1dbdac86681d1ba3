// When recordings expire (RECORDING_RETENTION_DAYS after they were made; 0 = never). Pure.

export const DAY_MS = 86_400_000;

/** Recordings made before this (epoch ms) have expired at `now`; null when they never expire. */
export function expiryCutoff(now: number, retentionDays: number): number | null {
  return retentionDays > 0 ? now - retentionDays * DAY_MS : null;
}

/** When the alarm should next fire: as the oldest recording left expires; null when nothing will. */
export function nextExpiryAt(oldestCreatedAt: number | null, retentionDays: number): number | null {
  if (oldestCreatedAt === null || retentionDays <= 0) return null;
  return oldestCreatedAt + retentionDays * DAY_MS;
}
