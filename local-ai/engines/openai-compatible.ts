// The reply step when LOCAL_LLM_URL points at an OpenAI-compatible server (Ollama
// http://127.0.0.1:11434/v1, llama.cpp llama-server http://127.0.0.1:8080/v1, LM Studio, vLLM):
// POST {url}/chat/completions, and hand back text or a stream of pieces that sse.ts re-emits in
// Workers AI's format.
import { AiError } from "../errors.ts";
import {
  estimatePromptTokens,
  estimateTokens,
  makeUsage,
  openAiSsePieces,
  UpstreamStreamError,
  type StreamPiece,
  type Usage,
} from "../sse.ts";
import type { ReplyEngine, ReplyRequest } from "./offline-responder.ts";
import { WORKERS_AI_ERRORS } from "../../shared/workers-ai/errors.ts";

export interface OpenAiCompatibleOptions {
  /** Base URL including the version path, e.g. http://127.0.0.1:11434/v1 */
  url: string;
  model: string;
  apiKey?: string;
  /** Time allowed until the response headers arrive (a local server may be loading the model). */
  timeoutMs?: number;
}

export class OpenAiCompatible implements ReplyEngine {
  readonly url: string;
  readonly model: string;
  private readonly apiKey: string | undefined;
  private readonly timeoutMs: number;

  constructor(options: OpenAiCompatibleOptions) {
    this.url = options.url.replace(/\/+$/, "");
    this.model = options.model;
    this.apiKey = options.apiKey;
    this.timeoutMs = options.timeoutMs ?? 120_000;
  }

  get label(): string {
    return `openai-compatible:${this.url}`;
  }

  private async post(req: ReplyRequest, stream: boolean): Promise<Response> {
    const body: Record<string, unknown> = { model: this.model, messages: req.messages, stream };
    if (stream) body.stream_options = { include_usage: true };
    if (req.maxTokens !== undefined) body.max_tokens = req.maxTokens;
    if (req.temperature !== undefined) body.temperature = req.temperature;
    const headers: Record<string, string> = {
      "content-type": "application/json",
      accept: stream ? "text/event-stream" : "application/json",
    };
    if (this.apiKey) headers.authorization = `Bearer ${this.apiKey}`;
    const timeout = new AbortController();
    const timer = setTimeout(() => timeout.abort(new Error(`no answer within ${this.timeoutMs} ms`)), this.timeoutMs);
    let res: Response;
    try {
      res = await fetch(`${this.url}/chat/completions`, {
        method: "POST",
        headers,
        body: JSON.stringify(body),
        signal: AbortSignal.any([req.signal, timeout.signal]),
      });
    } catch (e) {
      if (req.signal.aborted) throw e;
      if (timeout.signal.aborted)
        throw new AiError(WORKERS_AI_ERRORS.timeout, `the local LLM server at ${this.url} did not answer within ${this.timeoutMs} ms`);
      const cause = (e as { cause?: { code?: string; message?: string } }).cause;
      throw new AiError(
        WORKERS_AI_ERRORS.internal,
        `the local LLM server at ${this.url} is not reachable (${cause?.code ?? cause?.message ?? (e as Error).message}); start it (for Ollama: ollama serve) or unset LOCAL_LLM_URL`,
      );
    } finally {
      clearTimeout(timer);
    }
    if (!res.ok) {
      const text = (await res.text().catch(() => "")).slice(0, 500);
      throw new AiError(
        WORKERS_AI_ERRORS.internal,
        `the local LLM server at ${this.url} answered HTTP ${res.status} for model "${this.model}": ${text}`,
      );
    }
    return res;
  }

  async complete(req: ReplyRequest): Promise<{ response: string; usage: Usage }> {
    const res = await this.post(req, false);
    const json = (await res.json()) as {
      choices?: { message?: { content?: string | null } }[];
      usage?: Partial<Usage>;
    };
    const response = json.choices?.[0]?.message?.content ?? "";
    const u = json.usage;
    const usage =
      u && typeof u.prompt_tokens === "number" && typeof u.completion_tokens === "number"
        ? makeUsage(u.prompt_tokens, u.completion_tokens)
        : makeUsage(estimatePromptTokens(req.messages), estimateTokens(response));
    return { response, usage };
  }

  async *stream(req: ReplyRequest): AsyncGenerator<StreamPiece> {
    const res = await this.post(req, true);
    if (!res.body) throw new AiError(WORKERS_AI_ERRORS.internal, `the local LLM server at ${this.url} sent no body`);
    try {
      yield* openAiSsePieces(res.body as unknown as AsyncIterable<Uint8Array>);
    } catch (e) {
      if (e instanceof UpstreamStreamError) throw new AiError(WORKERS_AI_ERRORS.internal, `the local LLM stream failed: ${e.message}`);
      throw e;
    }
  }
}
