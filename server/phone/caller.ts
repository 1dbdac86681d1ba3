// Who is calling, as Parley keeps it: a session per caller (a keyed hash of the number, so the id
// does not reveal it and cannot be found by trying numbers without SESSION_SECRET), and the number
// masked for review. The number itself is never stored. Pure WebCrypto.
import { base32, hmacKey } from "../access/session-keys.ts";

const CALLER_CONTEXT = "parley/phone-caller/v1";

/** The session id of everything `number` says on the phone: 26 characters of base32, like a minted id. */
export async function callerSessionId(secret: string, number: string): Promise<string> {
  const mac = new Uint8Array(
    await crypto.subtle.sign("HMAC", await hmacKey(secret), new TextEncoder().encode(`${CALLER_CONTEXT}\n${number.trim()}`)),
  );
  return base32(mac.subarray(0, 16));
}

/** `+14155550123` -> `+1•••••••0123`: the country code and the last four digits. Anything else (withheld, a SIP name) says so. */
export function maskCaller(number: string): string {
  const n = number.trim();
  if (!/^\+?[0-9]{5,20}$/.test(n)) return n === "" ? "unknown caller" : "withheld number";
  const plus = n.startsWith("+");
  const digits = plus ? n.slice(1) : n;
  const head = plus ? `+${digits.slice(0, 1)}` : "";
  const shown = plus ? 1 : 0;
  return `${head}${"•".repeat(Math.max(0, digits.length - shown - 4))}${digits.slice(-4)}`;
}

/** A number Twilio sends for a caller who withheld theirs: such calls cannot continue a conversation. */
export function isWithheld(number: string): boolean {
  return !/^\+?[0-9]{5,20}$/.test(number.trim());
}
