// Call setup: Twilio's request signature (its documented example), the TwiML answer, the stream
// token, and who the caller is (session per caller, masked number).
import { describe, expect, it } from "vitest";
import { callerSessionId, isWithheld, maskCaller } from "../../../../server/phone/caller.ts";
import { mintStreamToken, verifyStreamToken } from "../../../../server/phone/stream-token.ts";
import { signedText, twilioSignature, verifyTwilioSignature } from "../../../../server/phone/twilio-signature.ts";
import { connectStreamTwiml, sayAndHangUpTwiml } from "../../../../server/phone/twiml.ts";
import { parseStreamTwiml } from "../../../support/fake-twilio.ts";

const SECRET = "a-test-secret-of-at-least-32-characters!";

// Twilio's own example of request validation (twilio.com/docs/usage/security).
const EXAMPLE = {
  token: "12345",
  url: "https://mycompany.com/myapp.php?foo=1&bar=2",
  params: [
    ["CallSid", "CA1234567890ABCDE"],
    ["Caller", "+14158675310"],
    ["Digits", "1234"],
    ["From", "+14158675310"],
    ["To", "+18005551212"],
  ] as [string, string][],
  signature: "GvWf1cFY/Q7PnoempGyD5oXAezc=",
};

describe("X-Twilio-Signature", () => {
  it("matches Twilio's documented example, whatever order the form arrives in", async () => {
    expect(await twilioSignature(EXAMPLE.token, EXAMPLE.url, EXAMPLE.params)).toBe(EXAMPLE.signature);
    expect(await verifyTwilioSignature(EXAMPLE.token, EXAMPLE.url, [...EXAMPLE.params].reverse(), EXAMPLE.signature)).toBe(true);
    expect(
      signedText("u", [
        ["b", "2"],
        ["a", "1"],
      ]),
    ).toBe("ua1b2");
  });

  it("rejects another token, a changed parameter, another URL, a missing or malformed header", async () => {
    expect(await verifyTwilioSignature("54321", EXAMPLE.url, EXAMPLE.params, EXAMPLE.signature)).toBe(false);
    const changed = EXAMPLE.params.map(([k, v]) => [k, k === "From" ? "+14158675311" : v] as [string, string]);
    expect(await verifyTwilioSignature(EXAMPLE.token, EXAMPLE.url, changed, EXAMPLE.signature)).toBe(false);
    expect(
      await verifyTwilioSignature(EXAMPLE.token, "https://mycompany.com/myapp.php?foo=1&bar=3", EXAMPLE.params, EXAMPLE.signature),
    ).toBe(false);
    expect(await verifyTwilioSignature(EXAMPLE.token, EXAMPLE.url, [...EXAMPLE.params, ["Extra", "1"]], EXAMPLE.signature)).toBe(false);
    expect(await verifyTwilioSignature(EXAMPLE.token, EXAMPLE.url, EXAMPLE.params, null)).toBe(false);
    expect(await verifyTwilioSignature(EXAMPLE.token, EXAMPLE.url, EXAMPLE.params, "not base64!")).toBe(false);
    expect(await verifyTwilioSignature(EXAMPLE.token, EXAMPLE.url, EXAMPLE.params, EXAMPLE.signature.slice(1))).toBe(false);
  });
});

describe("TwiML", () => {
  it("connects the call to a bidirectional stream with escaped parameters", () => {
    const xml = connectStreamTwiml("wss://parley.example/phone/stream/abc", { token: `a"b<c>&'d` });
    expect(xml).toMatch(
      /^<\?xml version="1.0" encoding="UTF-8"\?><Response><Connect><Stream url="wss:\/\/parley.example\/phone\/stream\/abc">/,
    );
    expect(xml).toContain('<Parameter name="token" value="a&quot;b&lt;c&gt;&amp;&apos;d"/>');
    expect(parseStreamTwiml(xml)).toEqual({ url: "wss://parley.example/phone/stream/abc", parameters: { token: `a"b<c>&'d` } });
    expect(sayAndHangUpTwiml("No <calls> now")).toContain("<Say>No &lt;calls&gt; now</Say><Hangup/>");
  });
});

describe("the stream token", () => {
  const claims = { sessionId: "a".repeat(26), callSid: "CA123", caller: "+1•••••••0123", expiresAt: 10_000 };

  it("admits the stream of its own call into its own session until it expires", async () => {
    const token = await mintStreamToken(SECRET, claims);
    expect(await verifyStreamToken(SECRET, token, { sessionId: claims.sessionId, callSid: "CA123" }, 9_999)).toEqual({ ok: true, claims });
    expect(await verifyStreamToken(SECRET, token, { sessionId: claims.sessionId, callSid: "CA123" }, 10_001)).toEqual({
      ok: false,
      reason: "expired",
    });
    expect(await verifyStreamToken(SECRET, token, { sessionId: "b".repeat(26), callSid: "CA123" }, 0)).toEqual({
      ok: false,
      reason: "other-session",
    });
    expect(await verifyStreamToken(SECRET, token, { sessionId: claims.sessionId, callSid: "CA999" }, 0)).toEqual({
      ok: false,
      reason: "other-call",
    });
  });

  it("refuses a token signed with another secret, with edited claims, or not a token at all", async () => {
    const expect0 = { sessionId: claims.sessionId, callSid: "CA123" };
    const other = await mintStreamToken(`${SECRET}x`, claims);
    expect(await verifyStreamToken(SECRET, other, expect0, 0)).toEqual({ ok: false, reason: "forged" });
    const token = await mintStreamToken(SECRET, claims);
    const [, , mac] = token.split(".");
    const edited = Buffer.from(JSON.stringify({ s: claims.sessionId, c: "CA123", n: "x", e: 99_999_999 })).toString("base64url");
    expect(await verifyStreamToken(SECRET, `ps1.${edited}.${mac}`, expect0, 0)).toEqual({ ok: false, reason: "forged" });
    expect(await verifyStreamToken(SECRET, "o.abc", expect0, 0)).toEqual({ ok: false, reason: "malformed" });
  });
});

describe("the caller", () => {
  it("one session per number: a stable id like a minted one, different per number and per deployment", async () => {
    const a = await callerSessionId(SECRET, "+14155550123");
    expect(a).toMatch(/^[a-z2-7]{26}$/);
    expect(await callerSessionId(SECRET, "+14155550123")).toBe(a);
    expect(await callerSessionId(SECRET, "+14155550124")).not.toBe(a);
    expect(await callerSessionId(`${SECRET}x`, "+14155550123")).not.toBe(a);
  });

  it("masks all but the country code and the last four digits; a withheld number says so", () => {
    expect(maskCaller("+14155550123")).toBe("+1••••••0123");
    expect(maskCaller("+442071838750")).toBe("+4•••••••8750");
    expect(maskCaller("anonymous")).toBe("withheld number");
    expect(maskCaller("")).toBe("unknown caller");
    expect(isWithheld("+266696687")).toBe(false);
    expect(isWithheld("client:alice")).toBe(true);
  });
});

describe("phone settings", () => {
  it("default to off without TWILIO_AUTH_TOKEN, an Aura voice and one session per caller; refuse what cannot work", async () => {
    const { loadPhoneConfig, ConfigError } = await import("../../../../server/config.ts");
    const d = loadPhoneConfig({});
    expect(d).toMatchObject({ authToken: null, ttsModel: "@cf/deepgram/aura-2-en", sessionPerCaller: true, publicUrl: null });
    expect(
      loadPhoneConfig({ PHONE_GREETING: "off", PHONE_SESSION_PER_CALLER: "false", PHONE_PUBLIC_URL: "https://abc.example.com/" }),
    ).toMatchObject({ greeting: "", sessionPerCaller: false, publicUrl: "https://abc.example.com" });
    expect(() => loadPhoneConfig({ PHONE_TTS_MODEL: "@cf/myshell-ai/melotts" })).toThrow(/PHONE_TTS_MODEL.*MP3/);
    expect(() => loadPhoneConfig({ PHONE_PUBLIC_URL: "http://abc.example.com" })).toThrow(ConfigError);
    expect(() => loadPhoneConfig({ PHONE_TTS_MODEL: "@cf/deepgram/aura-1", PHONE_TTS_SPEAKER: "luna2" })).toThrow(/PHONE_TTS_SPEAKER/);
  });
});
