// Phone calls in Worker tests: Twilio's voice webhook signed with the test auth token, then the
// Media Stream the TwiML names, driven by the fake Twilio client (test/support/fake-twilio.ts).
import { env, exports } from "cloudflare:workers";
import { twilioSignature } from "../../../server/phone/twilio-signature.ts";
import { FakeTwilioCall, parseStreamTwiml, voiceWebhookForm } from "../../support/fake-twilio.ts";
import { visitorAddress } from "./session-client.ts";

export const WEBHOOK_URL = "http://parley.test/phone/voice";

export function randomCaller(): string {
  return `+1415${String(Math.floor(Math.random() * 1e7)).padStart(7, "0")}`;
}

/** POST the voice webhook as Twilio would (`signature: false` leaves it unsigned, a string sends that). */
export async function ring(o: {
  from: string;
  callSid?: string;
  signature?: boolean | string;
}): Promise<{ res: Response; callSid: string }> {
  const callSid = o.callSid ?? `CA${crypto.randomUUID().replace(/-/g, "")}`;
  const form = voiceWebhookForm({ callSid, from: o.from });
  const headers = new Headers({ "Content-Type": "application/x-www-form-urlencoded", "CF-Connecting-IP": visitorAddress() });
  if (o.signature !== false)
    headers.set(
      "X-Twilio-Signature",
      typeof o.signature === "string" ? o.signature : await twilioSignature(env.TWILIO_AUTH_TOKEN!, WEBHOOK_URL, form),
    );
  const res = await exports.default.fetch(WEBHOOK_URL, { method: "POST", headers, body: new URLSearchParams(form).toString() });
  return { res, callSid };
}

export interface LiveCall {
  call: FakeTwilioCall;
  sessionId: string;
  ws: WebSocket;
  closed: Promise<{ code: number; reason: string }>;
}

/** Open the stream a TwiML answer names and start it with `parameters` (default: the TwiML's own). */
export async function openStream(xml: string, callSid: string, parameters?: Record<string, string>): Promise<LiveCall> {
  const twiml = parseStreamTwiml(xml);
  const sessionId = twiml.url.split("/").pop()!;
  const res = await exports.default.fetch(twiml.url.replace(/^ws/, "http"), {
    headers: { Upgrade: "websocket", "CF-Connecting-IP": visitorAddress() },
  });
  if (res.status !== 101 || !res.webSocket) throw new Error(`stream upgrade failed: ${res.status} ${await res.text()}`);
  const ws = res.webSocket;
  const call = new FakeTwilioCall({ send: (text) => ws.send(text), callSid });
  const closed = new Promise<{ code: number; reason: string }>((resolve) =>
    ws.addEventListener("close", (ev: CloseEvent) => resolve({ code: ev.code, reason: ev.reason })),
  );
  ws.addEventListener("message", (ev: MessageEvent) => {
    if (typeof ev.data === "string") call.onMessage(ev.data);
  });
  ws.accept();
  call.start(parameters ?? twiml.parameters);
  return { call, sessionId, ws, closed };
}

/** Ring and connect: a call whose stream has started. */
export async function placeCall(from: string): Promise<LiveCall> {
  const { res, callSid } = await ring({ from });
  if (res.status !== 200) throw new Error(`webhook answered ${res.status}: ${await res.text()}`);
  return openStream(await res.text(), callSid);
}

/** Hang up: Twilio's `stop`, then the socket closes. */
export function hangUp(c: LiveCall): void {
  c.call.stop();
  c.ws.close(1000, "call ended");
}

/** The session id a caller's calls go to, from a webhook answer (without opening the stream). */
export async function sessionOfCaller(from: string): Promise<string> {
  const { res } = await ring({ from });
  return parseStreamTwiml(await res.text())
    .url.split("/")
    .pop()!;
}
