// The wrangler vars that select each way of ending a turn: the paths table of `npm run bench` and
// the end-of-turn table of `npm run bench:turns` configure the Worker with the same ones.
/** Keyed by path. */
export const PATH_VARS = {
  baseline: { END_OF_TURN: "silence", SPECULATIVE_REPLIES: "false", ADAPTIVE_SILENCE: "false" },
  smartTurn: { END_OF_TURN: "smart-turn", SPECULATIVE_REPLIES: "true" },
  novaTranscript: { STT_MODE: "streaming", STT_STREAMING_MODEL: "@cf/deepgram/nova-3", END_OF_TURN: "transcript" },
} as const satisfies Record<string, Record<string, string>>;
