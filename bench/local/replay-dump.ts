// Decode live sockets' dumps (LOCAL_AI_DUMP_DIR, local-ai/live-transcription.ts) again offline, to
// tell "the audio is bad" from "the live decoder handles it badly": for each dump, the audio up to
// its first Finalize through the batch decoder (whole utterance, per-utterance mean), and the whole
// dump through a fresh live decoder in 20 ms frames with Finalize where it arrived, beside what the
// socket answered at the time.
//
//   LOCAL_AI_DUMP_DIR=/tmp/parley-dumps npm run bench:local:browser
//   npx node --disable-warning=ExperimentalWarning bench/local/replay-dump.ts /tmp/parley-dumps
//   LOCAL_AI_LIVE_SEED_MS=0 npx node ... bench/local/replay-dump.ts DIR     (PocketSphinx's own running mean)
import { readdirSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { parseWav } from "../../shared/audio/wav.ts";
import { PocketSphinx } from "../../local-ai/engines/pocketsphinx.ts";
import { PocketSphinxLive, type LiveDecoderEvent } from "../../local-ai/engines/pocketsphinx-stream.ts";
import type { LiveDump } from "../../local-ai/live-transcription.ts";

const FRAME_SAMPLES = 320;

async function liveTranscript(live: PocketSphinxLive, pcm: Int16Array, finalizeAt: number[]): Promise<string> {
  const finals: string[] = [];
  let answered: { resolve: () => void; reject: (e: Error) => void } | undefined;
  let failure: Error | undefined;
  const stream = await live.open(
    { interim: false },
    {
      event(e: LiveDecoderEvent) {
        if (e.type !== "final") return;
        if (e.hyp.text) finals.push(e.hyp.text);
        if (e.reason === "finalize") answered?.resolve();
      },
      failed(e) {
        failure = e;
        answered?.reject(e);
      },
    },
  );
  const end = finalizeAt[0] ?? pcm.length;
  for (let i = 0; i < end; i += FRAME_SAMPLES) {
    const frame = pcm.subarray(i, Math.min(end, i + FRAME_SAMPLES));
    stream.write(new Uint8Array(frame.buffer, frame.byteOffset, frame.byteLength));
  }
  await new Promise<void>((resolve, reject) => {
    if (failure) return reject(failure);
    answered = { resolve, reject };
    stream.finalize("finalize");
  });
  await stream.end();
  return finals.join(" ");
}

async function main(): Promise<void> {
  const dir = process.argv[2];
  if (!dir) throw new Error("usage: replay-dump.ts DUMP_DIR");
  const seedMs = process.env.LOCAL_AI_LIVE_SEED_MS === undefined ? undefined : Number(process.env.LOCAL_AI_LIVE_SEED_MS);
  const batch = new PocketSphinx();
  try {
    for (const name of readdirSync(dir)
      .filter((f) => f.endsWith(".json"))
      .sort()) {
      const meta = JSON.parse(readFileSync(join(dir, name), "utf8")) as LiveDump;
      const pcm = parseWav(readFileSync(join(dir, name.replace(/\.json$/, ".wav")))).pcm;
      const upTo = meta.finalizeAtSamples[0] ?? pcm.length;
      const heard = meta.finals
        .filter((f) => f.text)
        .map((f) => f.text)
        .join(" ");
      const b = (await batch.transcribe(pcm.subarray(0, upTo))).text;
      // A fresh decoder for every dump, as a browser session gets (the pool would lend a used one).
      const live = new PocketSphinxLive({ spare: 0, maxStreams: 1, seedMs });
      let l: string;
      try {
        l = await liveTranscript(live, pcm, meta.finalizeAtSamples);
      } finally {
        await live.close();
      }
      console.log(
        `${name.replace(/\.json$/, "")} (${(pcm.length / 16000).toFixed(1)} s, Finalize at ${(upTo / 16000).toFixed(2)} s, answered in ${meta.finalizeAnsweredMs?.[0] ?? "-"} ms)`,
      );
      console.log(`  answered: ${heard}\n  batch:    ${b}\n  live:     ${l}`);
    }
  } finally {
    await batch.close();
  }
}

await main();
