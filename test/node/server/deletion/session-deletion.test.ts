// The order of a session's deletion: live things stopped first, outside cleanups before anything of
// the session's own is deleted (a failed cleanup leaves the session whole and usable), the tombstone last.
import { describe, expect, it } from "vitest";
import {
  TOMBSTONE_KEY,
  deleteSession,
  isDeleted,
  sessionCleanups,
  type DeletionSteps,
  type SessionCleanup,
} from "../../../../server/deletion/session-deletion.ts";

function recorder() {
  const log: string[] = [];
  const steps: DeletionSteps = {
    stopLive: async () => void log.push("stop live"),
    resume: () => void log.push("resume"),
    deleteRows: () => void log.push("delete rows"),
    deleteStorage: async () => void log.push("delete storage + tombstone"),
  };
  const cleanup = (name: string, fails = false): SessionCleanup => ({
    name,
    run: async (id) => {
      log.push(`${name} ${id}`);
      if (fails) throw new Error(`${name} is down`);
    },
  });
  return { log, steps, cleanup };
}

describe("deleting a session", () => {
  it("stops what is live, runs the outside cleanups, then deletes the rows and the storage", async () => {
    const { log, steps, cleanup } = recorder();
    expect(await deleteSession("s1", steps, [cleanup("index"), cleanup("recordings")])).toEqual({ ok: true });
    expect(log).toEqual(["stop live", "index s1", "recordings s1", "delete rows", "delete storage + tombstone"]);
  });

  it("a failed cleanup deletes nothing of the session's own, lets it be used again and says which cleanup failed", async () => {
    const { log, steps, cleanup } = recorder();
    const result = await deleteSession("s1", steps, [cleanup("index", true), cleanup("recordings")]);
    expect(result).toEqual({ ok: false, failed: "index", message: "index is down" });
    expect(log).toEqual(["stop live", "index s1", "resume"]);
  });

  it("the session's cleanups delete its recordings (R2) before its index entry (D1)", async () => {
    const { log, steps } = recorder();
    const cleanups = sessionCleanups({
      deleteRecordings: async (id) => void log.push(`recordings ${id}`),
      deleteIndexEntry: async (id) => void log.push(`index ${id}`),
    });
    expect(await deleteSession("s1", steps, cleanups)).toEqual({ ok: true });
    expect(log).toEqual(["stop live", "recordings s1", "index s1", "delete rows", "delete storage + tombstone"]);
  });

  it("a session is deleted exactly when its tombstone is stored", () => {
    const kv = new Map<string, unknown>();
    const storage = { kv: { get: <T>(key: string) => kv.get(key) as T | undefined } };
    expect(isDeleted(storage)).toBe(false);
    kv.set("__ps_name", "s1");
    expect(isDeleted(storage)).toBe(false);
    kv.set(TOMBSTONE_KEY, 1_700_000_000_000);
    expect(isDeleted(storage)).toBe(true);
  });
});
