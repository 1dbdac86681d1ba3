// Request and answer shapes of text generation (docs/workers-ai.md, "Models and their shapes" and
// "Streaming replies"). The input schemas compile only if they fit the published input type of the
// model Parley uses; the stream chunk schema is the payload of one server-sent event (llm-stream.ts).
import { z } from "zod";
import { publishedInput } from "./published-types.ts";

/** Text generation input as Parley sends it (messages form). */
export const LlmInput = publishedInput(
  "@cf/meta/llama-3.1-8b-instruct-fp8",
  z.object({
    messages: z.array(z.object({ role: z.enum(["system", "user", "assistant"]), content: z.string() })).min(1),
    stream: z.boolean().optional(),
    max_tokens: z.number().int().positive().optional(),
    temperature: z.number().optional(),
  }),
);
/** The `{ prompt }` form of text generation (Parley sends messages; the stand-in accepts both). */
export const LlmPromptInput = publishedInput(
  "@cf/meta/llama-3.1-8b-instruct-fp8",
  LlmInput.omit({ messages: true }).extend({ prompt: z.string().min(1) }),
);
export const LlmUsage = z.object({
  prompt_tokens: z.number().int().min(0),
  completion_tokens: z.number().int().min(0),
  total_tokens: z.number().int().min(0),
});
/** Non-streamed text generation output. */
export const LlmOutput = z.object({ response: z.string().optional(), usage: LlmUsage.optional() }).passthrough();
/** One `data:` JSON payload of a streamed reply: native `response` form or OpenAI `choices[].delta` form. */
export const LlmStreamChunk = z
  .object({
    response: z.string().optional(),
    p: z.string().optional(),
    // OpenAI-compatible servers send `"usage": null` on every chunk but the last.
    usage: LlmUsage.partial().nullish(),
    /** Set by the offline stand-in: which engine wrote the reply. */
    engine: z.string().optional(),
    choices: z
      .array(
        z
          .object({ delta: z.object({ content: z.string().nullish() }).passthrough().optional(), finish_reason: z.string().nullish() })
          .passthrough(),
      )
      .optional(),
  })
  .passthrough();
