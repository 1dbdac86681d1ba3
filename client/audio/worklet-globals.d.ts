// AudioWorkletGlobalScope declarations missing from TypeScript's DOM lib. Only the class and
// registerProcessor are global here; the worklet modules declare `sampleRate` / `currentTime`
// locally so main-thread code cannot use them by mistake.

interface AudioWorkletProcessor {
  readonly port: MessagePort;
}

declare var AudioWorkletProcessor: {
  prototype: AudioWorkletProcessor;
  new (options?: AudioWorkletNodeOptions): AudioWorkletProcessor;
};

interface AudioWorkletProcessorImpl extends AudioWorkletProcessor {
  process(inputs: Float32Array[][], outputs: Float32Array[][], parameters: Record<string, Float32Array>): boolean;
}

declare function registerProcessor(name: string, processorCtor: new (options?: AudioWorkletNodeOptions) => AudioWorkletProcessorImpl): void;
