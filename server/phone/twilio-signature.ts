// Twilio's request signing (docs/telephony.md, "Call setup"): X-Twilio-Signature is
// Base64(HMAC-SHA1(auth token, the full request URL followed by each POST parameter's name and value,
// parameters sorted by name)). Verified with crypto.subtle.verify, which compares in constant time.
// Pure WebCrypto: runs in workerd and Node.

/** The text Twilio signs: the URL, then name+value of every form parameter in name order. */
export function signedText(url: string, params: Iterable<readonly [string, string]>): string {
  const sorted = [...params].sort(([a, av], [b, bv]) => (a < b ? -1 : a > b ? 1 : av < bv ? -1 : av > bv ? 1 : 0));
  let text = url;
  for (const [name, value] of sorted) text += name + value;
  return text;
}

function sha1Key(authToken: string, usage: "sign" | "verify") {
  return crypto.subtle.importKey("raw", new TextEncoder().encode(authToken), { name: "HMAC", hash: "SHA-1" }, false, [usage]);
}

/** The signature Twilio sends for this request (also what the fake Twilio client and `npm run phone:sim` sign with). */
export async function twilioSignature(authToken: string, url: string, params: Iterable<readonly [string, string]>): Promise<string> {
  const mac = new Uint8Array(
    await crypto.subtle.sign("HMAC", await sha1Key(authToken, "sign"), new TextEncoder().encode(signedText(url, params))),
  );
  let bin = "";
  for (const b of mac) bin += String.fromCharCode(b);
  return btoa(bin);
}

/** Whether `signature` (the header's value) signs this URL and these parameters under the auth token. */
export async function verifyTwilioSignature(
  authToken: string,
  url: string,
  params: Iterable<readonly [string, string]>,
  signature: string | null,
): Promise<boolean> {
  if (!signature || !/^[A-Za-z0-9+/]{27}=$/.test(signature)) return false; // 20 bytes of SHA-1, base64
  const bin = atob(signature);
  const mac = new Uint8Array(bin.length);
  for (let i = 0; i < bin.length; i++) mac[i] = bin.charCodeAt(i);
  return crypto.subtle.verify("HMAC", await sha1Key(authToken, "verify"), mac, new TextEncoder().encode(signedText(url, params)));
}
