// The Worker's routes, decided from the path alone. Only the known party (`voice-session`) is
// routed — never a lookup by a name from the URL — every path segment must decode, ids must be ones
// the server mints, and extra segments are refused, so no path reaches a Durable Object by accident.
import type { HttpErrorCode } from "../../shared/protocol.ts";
import { isSessionId } from "../access/session-keys.ts";

export const PARTY = "voice-session";

export type Route =
  | { kind: "health" }
  | { kind: "create-session" }
  | { kind: "conversations"; csv: boolean }
  | { kind: "transcript"; id: string }
  | { kind: "export"; id: string }
  | { kind: "review-key"; id: string; rotate: boolean }
  | { kind: "recording"; id: string; turnId: string; recording: "user" | "reply" }
  | { kind: "connect"; id: string }
  | { kind: "phone-voice" }
  | { kind: "phone-stream"; id: string }
  | { kind: "refused"; status: 400 | 404; code: HttpErrorCode; message: string }
  | { kind: "static" };

/** Turn ids as sessions mint them (`t-<time>-<counter>-<random>`, server/voice-session.ts): nothing else reaches a lookup. */
const TURN_ID = /^t-[a-z0-9-]{1,64}$/;

const refused = (status: 400 | 404, code: HttpErrorCode, message: string): Route => ({ kind: "refused", status, code, message });

export function routeOf(pathname: string): Route {
  const raw = pathname.split("/").slice(1);
  if (raw[0] !== "api" && raw[0] !== "parties" && raw[0] !== "phone") return { kind: "static" };
  const segments: string[] = [];
  for (const s of raw) {
    try {
      segments.push(decodeURIComponent(s));
    } catch {
      return refused(400, "bad_path", "the path is not valid percent-encoding");
    }
  }
  const path = segments.join("/");
  if (segments[0] === "phone") {
    // Twilio's voice webhook and the Media Stream it opens (server/phone/phone-requests.ts).
    if (path === "phone/voice") return { kind: "phone-voice" };
    if (segments[1] === "stream" && segments.length === 3)
      return isSessionId(segments[2]!) ? { kind: "phone-stream", id: segments[2]! } : badId();
    return refused(404, "not_found", `no route for ${clip(pathname)}; phone calls use /phone/voice`);
  }
  if (segments[0] === "api") {
    if (path === "api/health") return { kind: "health" };
    if (path === "api/sessions") return { kind: "create-session" };
    if (path === "api/conversations" || path === "api/conversations.csv") return { kind: "conversations", csv: path.endsWith(".csv") };
    if (segments[1] === "sessions" && segments.length >= 3) {
      const id = segments[2]!;
      const rest = segments.slice(3).join("/");
      if (segments[3] === "recordings" && segments.length === 6) {
        const [turnId, which] = [segments[4]!, segments[5]!];
        if (!TURN_ID.test(turnId) || (which !== "user" && which !== "reply"))
          return refused(404, "not_found", `recordings are at /api/sessions/<id>/recordings/<turnId>/user or /reply`);
        if (!isSessionId(id)) return badId();
        return { kind: "recording", id, turnId, recording: which };
      }
      if (rest !== "" && rest !== "export" && rest !== "review-key" && rest !== "review-key/rotate")
        return refused(404, "not_found", `no route for ${clip(pathname)}`);
      if (!isSessionId(id)) return badId();
      if (rest === "") return { kind: "transcript", id };
      if (rest === "export") return { kind: "export", id };
      return { kind: "review-key", id, rotate: rest === "review-key/rotate" };
    }
    return refused(404, "not_found", `no route for ${clip(pathname)}`);
  }
  if (segments[1] !== PARTY) return refused(404, "not_found", `no party at ${clip(pathname)}; sessions are at /parties/${PARTY}/<id>`);
  if (segments.length !== 3) return refused(404, "not_found", `sessions are at /parties/${PARTY}/<id>, nothing below`);
  if (!isSessionId(segments[2]!)) return badId();
  return { kind: "connect", id: segments[2]! };
}

function badId(): Route {
  return refused(400, "bad_session_id", "session ids are 26 characters of a-z and 2-7, as minted by POST /api/sessions");
}

function clip(text: string): string {
  return text.length > 80 ? `${text.slice(0, 80)}…` : text;
}
