// The Twilio Media Streams protocol (docs/telephony.md, "Messages on the stream socket"): JSON text
// frames. From Twilio: connected, start, media (base64 μ-law 8 kHz mono, about 20 ms each), mark
// (a mark of ours, echoed once the audio before it has played — or was dropped by a clear), dtmf,
// stop. To Twilio: media, mark, clear. Shared by the session's phone transport, the fake Twilio
// client of the tests and `npm run phone:sim`. Pure.
import { z } from "zod";

/** Twilio's stream audio: μ-law, 8 kHz, mono, 20 ms (160 bytes) per message. */
export const PHONE_AUDIO = { sampleRate: 8000, frameMs: 20, frameBytes: 160 } as const;
/** Longest text frame the transport reads (a media message is about 300 characters). */
export const MAX_TWILIO_MESSAGE_CHARS = 16_384;

const StreamSid = z.string().min(1).max(64);

export const TwilioConnected = z.object({ event: z.literal("connected"), protocol: z.string().optional(), version: z.string().optional() });
export const TwilioStart = z.object({
  event: z.literal("start"),
  sequenceNumber: z.string().optional(),
  streamSid: StreamSid,
  start: z.object({
    streamSid: StreamSid.optional(),
    callSid: z.string().min(1).max(64),
    accountSid: z.string().optional(),
    tracks: z.array(z.string()).optional(),
    customParameters: z.record(z.string(), z.string()).default({}),
    mediaFormat: z.object({ encoding: z.string(), sampleRate: z.number(), channels: z.number() }).optional(),
  }),
});
export const TwilioMedia = z.object({
  event: z.literal("media"),
  sequenceNumber: z.string().optional(),
  streamSid: StreamSid,
  media: z.object({
    track: z.string().optional(),
    chunk: z.string().optional(),
    timestamp: z.string().optional(),
    payload: z.string().max(8192),
  }),
});
export const TwilioMark = z.object({
  event: z.literal("mark"),
  sequenceNumber: z.string().optional(),
  streamSid: StreamSid,
  mark: z.object({ name: z.string().max(256) }),
});
export const TwilioDtmf = z.object({
  event: z.literal("dtmf"),
  sequenceNumber: z.string().optional(),
  streamSid: StreamSid,
  dtmf: z.object({ track: z.string().optional(), digit: z.string().max(4) }),
});
export const TwilioStop = z.object({
  event: z.literal("stop"),
  sequenceNumber: z.string().optional(),
  streamSid: StreamSid,
  stop: z.object({ callSid: z.string().optional(), accountSid: z.string().optional() }).optional(),
});

export const TwilioInbound = z.discriminatedUnion("event", [TwilioConnected, TwilioStart, TwilioMedia, TwilioMark, TwilioDtmf, TwilioStop]);
export type TwilioInbound = z.infer<typeof TwilioInbound>;

/** What the server sends on the stream (the fake Twilio client parses these). */
export const TwilioOutbound = z.discriminatedUnion("event", [
  z.object({ event: z.literal("media"), streamSid: StreamSid, media: z.object({ payload: z.string() }) }),
  z.object({ event: z.literal("mark"), streamSid: StreamSid, mark: z.object({ name: z.string() }) }),
  z.object({ event: z.literal("clear"), streamSid: StreamSid }),
]);
export type TwilioOutbound = z.infer<typeof TwilioOutbound>;

export type ParsedTwilioMessage = { ok: true; message: TwilioInbound } | { ok: false; message: string };

/** Parse one text frame from Twilio; never throws. */
export function parseTwilioMessage(raw: string): ParsedTwilioMessage {
  if (raw.length > MAX_TWILIO_MESSAGE_CHARS)
    return { ok: false, message: `message of ${raw.length} characters (at most ${MAX_TWILIO_MESSAGE_CHARS})` };
  let json: unknown;
  try {
    json = JSON.parse(raw);
  } catch {
    return { ok: false, message: "not JSON" };
  }
  const parsed = TwilioInbound.safeParse(json);
  if (!parsed.success) {
    const event = (json as { event?: unknown } | null)?.event;
    return {
      ok: false,
      message: `not a Media Streams message${typeof event === "string" ? ` (event "${event.slice(0, 32)}")` : ""}: ${parsed.error.issues[0]?.message ?? "invalid"}`,
    };
  }
  return { ok: true, message: parsed.data };
}

export function mediaMessage(streamSid: string, payloadBase64: string): string {
  return JSON.stringify({ event: "media", streamSid, media: { payload: payloadBase64 } });
}

export function markMessage(streamSid: string, name: string): string {
  return JSON.stringify({ event: "mark", streamSid, mark: { name } });
}

export function clearMessage(streamSid: string): string {
  return JSON.stringify({ event: "clear", streamSid });
}
