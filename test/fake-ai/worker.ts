import { WorkerEntrypoint } from "cloudflare:workers";
export default class FakeAi extends WorkerEntrypoint {
  async run(model: string, inputs: any, options: any) {
    const sig = options?.signal;
    return new ReadableStream({ start(c) { c.enqueue(new TextEncoder().encode("data: x\n\n")); c.close(); } });
  }
}
