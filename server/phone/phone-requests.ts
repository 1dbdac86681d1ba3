// The Worker's side of phone calls (README, "Phone calls"; docs/telephony.md):
//   POST /phone/voice          Twilio's voice webhook: signature checked, a session chosen (per caller,
//                              or per call), TwiML that connects the call to a Media Stream with a
//                              short-lived stream token as a <Parameter>
//   GET  /phone/stream/<id>    the Media Stream's WebSocket, handed to the session, which admits it only
//                              with a valid token in the stream's `start` message
// Server to server: no Origin, no Cloudflare Access, no session keys — Twilio's signature and the token instead.
import { mintSessionId } from "../access/session-keys.ts";
import type { AuraOutput, PhoneOptions } from "../config.ts";
import { jsonError } from "../http/session-requests.ts";
import { callerSessionId, isWithheld, maskCaller } from "./caller.ts";
import { STREAM_TOKEN_PARAMETER } from "./phone-call.ts";
import { mintStreamToken } from "./stream-token.ts";
import { verifyTwilioSignature } from "./twilio-signature.ts";
import { connectStreamTwiml } from "./twiml.ts";

/** Set by the Worker on a phone stream's upgrade (clients' x-parley-* headers are stripped). */
export const PHONE_STREAM_HEADER = "x-parley-phone-stream";
/** What the phone asks Aura for: 8 kHz linear PCM in WAV, decoded and μ-law encoded by the transport. */
export const PHONE_TTS_OUTPUT: AuraOutput = { encoding: "linear16", container: "wav", sampleRate: 8000 };
export const PHONE_STREAM_PATH = "/phone/stream";
const MAX_WEBHOOK_BYTES = 16_384;

/** The URL Twilio requested (and signed): PHONE_PUBLIC_URL's origin when Parley sits behind a tunnel. */
export function signedUrl(request: Request, phone: PhoneOptions): string {
  if (!phone.publicUrl) return request.url;
  const url = new URL(request.url);
  return `${phone.publicUrl}${url.pathname}${url.search}`;
}

/** POST /phone/voice: answer a call with TwiML that streams it into a session. */
export async function answerVoiceWebhook(
  request: Request,
  secret: string,
  phone: PhoneOptions & { authToken: string },
  now: number,
): Promise<Response> {
  if (request.method !== "POST") return jsonError(405, "method_not_allowed", "Twilio's voice webhook is a POST");
  const body = new TextDecoder().decode(await request.arrayBuffer());
  if (body.length > MAX_WEBHOOK_BYTES) return jsonError(400, "bad_request", "that is not a Twilio voice webhook");
  const params = [...new URLSearchParams(body)];
  const url = signedUrl(request, phone);
  if (!(await verifyTwilioSignature(phone.authToken, url, params, request.headers.get("X-Twilio-Signature")))) {
    return jsonError(
      403,
      "bad_signature",
      "X-Twilio-Signature does not sign this request (check TWILIO_AUTH_TOKEN, and PHONE_PUBLIC_URL behind a tunnel)",
    );
  }
  const form = new Map(params);
  const callSid = form.get("CallSid");
  if (!callSid) return jsonError(400, "bad_request", "the webhook has no CallSid");
  const from = form.get("From") ?? "";
  // A withheld number cannot be recognized next time: such a call gets a session of its own.
  const sessionId = phone.sessionPerCaller && !isWithheld(from) ? await callerSessionId(secret, from) : mintSessionId();
  const token = await mintStreamToken(secret, { sessionId, callSid, caller: maskCaller(from), expiresAt: now + phone.streamTokenTtlMs });
  const origin = phone.publicUrl ?? new URL(request.url).origin;
  const streamUrl = `${origin.replace(/^http/, "ws")}${PHONE_STREAM_PATH}/${sessionId}`;
  return new Response(connectStreamTwiml(streamUrl, { [STREAM_TOKEN_PARAMETER]: token }), {
    headers: { "Content-Type": "text/xml; charset=utf-8", "Cache-Control": "no-store" },
  });
}
