// The streamed LLM reply of the benchmark fakes: Workers AI's SSE shape (a `response` token per
// event, then `usage` and [DONE]), each token released at an absolute deadline from the request so
// timer lateness under load does not pile up over a reply.
const enc = new TextEncoder();

export function sleepUntil(deadline: number): Promise<void> {
  const ms = deadline - Date.now();
  return ms > 0 ? new Promise((r) => setTimeout(r, ms)) : Promise.resolve();
}

/** `dueMs(i)`: when token i (and, at i = tokens.length, the closing usage event) is due, after `t0`. */
export function pacedReplyStream(
  tokens: readonly string[],
  promptTokens: number,
  t0: number,
  dueMs: (i: number) => number,
): ReadableStream<Uint8Array> {
  let i = 0;
  let cancelled = false;
  return new ReadableStream<Uint8Array>({
    async pull(controller) {
      await sleepUntil(t0 + dueMs(i));
      if (cancelled) return;
      if (i < tokens.length) {
        controller.enqueue(enc.encode(`data: ${JSON.stringify({ response: tokens[i], p: "abcdef" })}\n\n`));
        i++;
        return;
      }
      const usage = { prompt_tokens: promptTokens, completion_tokens: tokens.length, total_tokens: promptTokens + tokens.length };
      controller.enqueue(enc.encode(`data: ${JSON.stringify({ response: "", usage })}\n\ndata: [DONE]\n\n`));
      controller.close();
    },
    cancel() {
      cancelled = true;
    },
  });
}
