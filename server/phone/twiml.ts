// The TwiML Parley answers a call with (docs/telephony.md, "Call setup"): `<Connect><Stream>` holds
// the call on a bidirectional Media Stream until the socket closes; `<Parameter>`s arrive in the
// stream's `start` message. Pure.

function escapeXml(text: string): string {
  return text.replace(/[&<>"']/g, (c) => ({ "&": "&amp;", "<": "&lt;", ">": "&gt;", '"': "&quot;", "'": "&apos;" })[c]!);
}

const XML_HEAD = '<?xml version="1.0" encoding="UTF-8"?>';

/** Connect the call to the Media Stream at `streamUrl` (wss://…), passing `parameters` to its `start` message. */
export function connectStreamTwiml(streamUrl: string, parameters: Readonly<Record<string, string>>): string {
  const params = Object.entries(parameters)
    .map(([name, value]) => `<Parameter name="${escapeXml(name)}" value="${escapeXml(value)}"/>`)
    .join("");
  return `${XML_HEAD}<Response><Connect><Stream url="${escapeXml(streamUrl)}">${params}</Stream></Connect></Response>`;
}

/** Say something and hang up: the call cannot be taken (misconfigured, over budget). */
export function sayAndHangUpTwiml(text: string): string {
  return `${XML_HEAD}<Response><Say>${escapeXml(text)}</Say><Hangup/></Response>`;
}
