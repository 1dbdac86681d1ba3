// Ties a request schema to the input type Cloudflare publishes for the model (`AiModels` in
// @cloudflare/workers-types; docs/workers-ai.md, "Models and their shapes"). The offline stand-in
// checks requests with these schemas; if they were written from the server's own assumptions, a
// wrong assumption would be confirmed by its own stand-in. Type-only: nothing of this runs.
import type { AiModels } from "@cloudflare/workers-types";
import type { z } from "zod";

export type PublishedInput<M extends keyof AiModels> = AiModels[M]["inputs"];

type KeysOf<T> = T extends unknown ? keyof T : never;
type UnpublishedFields<S extends z.ZodType, M extends keyof AiModels> = Exclude<KeysOf<z.input<S>>, KeysOf<PublishedInput<M>>>;

/**
 * Returns `schema` unchanged. Fails to compile unless every value it accepts is a valid published
 * input of `model` and it names no field the published type lacks.
 */
export function publishedInput<M extends keyof AiModels, S extends z.ZodType<PublishedInput<M>>>(
  model: M,
  schema: S & ([UnpublishedFields<S, M>] extends [never] ? unknown : { fieldsNotInThePublishedType: UnpublishedFields<S, M> }),
): S {
  void model;
  return schema;
}
