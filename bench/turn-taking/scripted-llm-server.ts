// A minimal OpenAI-compatible chat-completions server that streams the scripted reply with the
// latency profile's pacing. The local stand-in's LLM step is pointed at it (LOCAL_LLM_URL), because
// the offline responder's one-line answers are too short to talk over.
import { createServer, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import { tokenDueMs } from "./latency-profile.ts";
import { replyTokens, SCRIPTED_REPLY } from "./reply-script.ts";

export interface ScriptedLlmServer {
  /** Base URL including /v1, for LOCAL_LLM_URL. */
  url: string;
  readonly requests: number;
  close(): Promise<void>;
}

export async function startScriptedLlmServer(): Promise<ScriptedLlmServer> {
  const state = { requests: 0 };
  const server: Server = createServer((req, res) => {
    if (req.method !== "POST" || !req.url?.endsWith("/chat/completions")) {
      res.writeHead(404).end();
      return;
    }
    const body: Buffer[] = [];
    req.on("data", (d: Buffer) => body.push(d));
    req.on("end", () => {
      state.requests++;
      const t0 = Date.now();
      const request = JSON.parse(Buffer.concat(body).toString("utf8")) as { stream?: boolean };
      const tokens = replyTokens();
      const usage = { prompt_tokens: 500, completion_tokens: tokens.length, total_tokens: 500 + tokens.length };
      if (!request.stream) {
        setTimeout(
          () =>
            res
              .writeHead(200, { "content-type": "application/json" })
              .end(JSON.stringify({ choices: [{ message: { content: SCRIPTED_REPLY } }], usage })),
          tokenDueMs(tokens.length),
        );
        return;
      }
      res.writeHead(200, { "content-type": "text/event-stream", "cache-control": "no-store" });
      let i = 0;
      let timer: NodeJS.Timeout | undefined;
      // Absolute deadlines from the request, so timer lateness does not pile up over a reply.
      const next = () => {
        timer = setTimeout(
          () => {
            if (i < tokens.length) {
              res.write(`data: ${JSON.stringify({ choices: [{ index: 0, delta: { content: tokens[i] } }], usage: null })}\n\n`);
              i++;
              next();
              return;
            }
            res.write(`data: ${JSON.stringify({ choices: [], usage })}\n\ndata: [DONE]\n\n`);
            res.end();
          },
          Math.max(0, t0 + tokenDueMs(i) - Date.now()),
        );
      };
      res.on("close", () => clearTimeout(timer));
      next();
    });
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const port = (server.address() as AddressInfo).port;
  return {
    url: `http://127.0.0.1:${port}/v1`,
    get requests() {
      return state.requests;
    },
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}
