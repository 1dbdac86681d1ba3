#!/usr/bin/python3
"""Persistent PocketSphinx decoder for Parley's offline stand-in (run with Debian's /usr/bin/python3).

Two modes, one decoder per process (Debian's pocketsphinx 0.8+5prealpha, python3-pocketsphinx 0.1.15):

Batch (default): `pocketsphinx_worker.py MODEL_DIR`
  stdin:  repeated [uint32 little-endian byte length][16 kHz mono PCM16 little-endian bytes]
  stdout: one JSON object per line:
          {"type":"ready","load_ms":...,"model":...}          once, after the decoder has loaded
          {"type":"fatal","kind":"import"|"model"|"init","error":...}   then exit(3)
          {"type":"result","text":...,"words":[[word,start_s,end_s],...],"decode_ms":...}
          {"type":"error","error":...}                            the decoder survives

Live: `pocketsphinx_worker.py MODEL_DIR --live [--no-fwdflat]` decodes one stream at a time while
it arrives (the process is reused for the next stream; the engine server keeps a small pool).
  stdin:  repeated [1 byte command][uint32 little-endian payload length][payload]
          b"S" start a stream, payload JSON {"interim_ms": 250, "interim": true}
          b"A" audio: 16 kHz mono PCM16 little-endian, any length (even)
          b"F" finalize the current segment now, payload JSON {"reason": "finalize" | "close"}
          b"E" end the stream (drops what is pending, no result)
  stdout: ready / fatal as above, then per stream:
          {"type":"speech_started","timestamp":s}    the decoder's VAD heard speech begin
          {"type":"partial","start":s,"end":s,"text":...,"words":[[w,start,end,conf],...]}
                                                       every interim_ms of audio while in speech
          {"type":"final","start":s,"end":s,"text":...,"words":[...],"reason":"endpoint"|"finalize"|"close","finish_ms":...}
                                                       "endpoint": the VAD heard the speech end (after
                                                       -vad_postspeech, 0.5 s of silence); otherwise on F
          {"type":"ended","audio_s":s}                after E
          {"type":"error","error":...}
  Times are seconds of audio since the stream's start.
Exits when stdin closes, so it never outlives the engine server that spawned it.
"""
import json
import os
import struct
import sys
import time

FRAME_RATE = 100  # pocketsphinx default -frate
SAMPLE_RATE = 16000
VAD_STARTSPEECH_S = 0.10  # -vad_startspeech 10 frames: the VAD says "speech" this long after it began


def emit(obj):
    sys.stdout.write(json.dumps(obj) + "\n")
    sys.stdout.flush()


def load_decoder(model_dir, fwdflat=True):
    try:
        from pocketsphinx import Decoder  # Debian python3-pocketsphinx
    except Exception as e:  # noqa: BLE001
        emit({"type": "fatal", "kind": "import", "error": f"cannot import pocketsphinx ({e})"})
        sys.exit(3)
    paths = {
        "-hmm": os.path.join(model_dir, "en-us"),
        "-lm": os.path.join(model_dir, "en-us.lm.bin"),
        "-dict": os.path.join(model_dir, "cmudict-en-us.dict"),
    }
    missing = [p for p in paths.values() if not os.path.exists(p)]
    if missing:
        emit({"type": "fatal", "kind": "model", "error": "model files missing: " + ", ".join(missing)})
        sys.exit(3)
    try:
        config = Decoder.default_config()
        for key, value in paths.items():
            config.set_string(key, value)
        config.set_string("-logfn", "/dev/null")
        if not fwdflat:
            config.set_boolean("-fwdflat", False)  # booleans must be set as booleans (set_string crashes)
        return Decoder(config)
    except Exception as e:  # noqa: BLE001
        emit({"type": "fatal", "kind": "init", "error": f"decoder failed to start ({e})"})
        sys.exit(3)


def clean_word(w):
    """A real word of a segmentation, or None for fillers (<s>, </s>, <sil>, [NOISE], ++NOISE++)."""
    if w.startswith("<") or w.startswith("[") or w.startswith("+"):
        return None
    if w.endswith(")") and "(" in w:  # alternate pronunciation, e.g. "the(2)"
        w = w[: w.index("(")]
    return w


def batch(decoder):
    stdin = sys.stdin.buffer
    while True:
        header = stdin.read(4)
        if len(header) < 4:
            return  # parent went away
        (length,) = struct.unpack("<I", header)
        pcm = stdin.read(length) if length else b""
        if len(pcm) < length:
            return
        t0 = time.time()
        try:
            decoder.start_utt()
            if pcm:
                decoder.process_raw(pcm, False, True)  # whole utterance, batch CMN
            decoder.end_utt()
            hyp = decoder.hyp()
            text = hyp.hypstr if hyp is not None else ""
            words = []
            for seg in decoder.seg():
                w = clean_word(seg.word)
                if w is None:
                    continue
                words.append([w, seg.start_frame / FRAME_RATE, (seg.end_frame + 1) / FRAME_RATE])
            emit({"type": "result", "text": text, "words": words, "decode_ms": round((time.time() - t0) * 1000)})
        except Exception as e:  # noqa: BLE001
            emit({"type": "error", "error": str(e)})


class LiveStream:
    """One live stream on the process's decoder. Word times count from the stream's start (start_stream)."""

    def __init__(self, decoder, options):
        self.d = decoder
        self.logmath = decoder.get_logmath()
        self.interim = bool(options.get("interim", True))
        self.interim_samples = int(SAMPLE_RATE * max(20, int(options.get("interim_ms", 250))) / 1000)
        self.pos = 0  # samples fed so far
        self.seg_start = 0  # samples: start of the segment being decoded
        self.in_speech = False
        self.last_partial = 0
        self.odd = b""
        self.d.start_stream()
        self.d.start_utt()
        self.in_utt = True

    def words(self, final):
        out = []
        for seg in self.d.seg():
            w = clean_word(seg.word)
            if w is None:
                continue
            # Posteriors exist once the segment is final (bestpath lattice); partial hypotheses carry none.
            conf = 1.0
            if final:
                try:
                    conf = max(0.0, min(1.0, self.logmath.exp(seg.prob)))
                except Exception:  # noqa: BLE001
                    conf = 1.0
            out.append([w, round(seg.start_frame / FRAME_RATE, 3), round((seg.end_frame + 1) / FRAME_RATE, 3), round(conf, 3)])
        return out

    def audio(self, pcm):
        if self.odd:
            pcm = self.odd + pcm
            self.odd = b""
        if len(pcm) % 2:
            self.odd = pcm[-1:]
            pcm = pcm[:-1]
        step = 640  # 20 ms: VAD transitions and interim timing at 20 ms resolution
        for i in range(0, len(pcm), step):
            chunk = pcm[i : i + step]
            self.d.process_raw(chunk, False, False)
            self.pos += len(chunk) // 2
            speech = self.d.get_in_speech()
            if speech and not self.in_speech:
                emit({"type": "speech_started", "timestamp": round(max(self.seg_start, self.pos / SAMPLE_RATE - VAD_STARTSPEECH_S), 3)})
                self.last_partial = self.pos
            elif self.in_speech and not speech:
                self.in_speech = False
                self.finish("endpoint")
                continue
            self.in_speech = speech
            if speech and self.interim and self.pos - self.last_partial >= self.interim_samples:
                self.last_partial = self.pos
                hyp = self.d.hyp()
                emit({
                    "type": "partial",
                    "start": round(self.seg_start / SAMPLE_RATE, 3),
                    "end": round(self.pos / SAMPLE_RATE, 3),
                    "text": hyp.hypstr if hyp is not None else "",
                    "words": self.words(False),
                })

    def finish(self, reason):
        """End the segment: its final result, then a new segment starts where it ended."""
        t0 = time.time()
        self.d.end_utt()
        hyp = self.d.hyp()
        text = hyp.hypstr if hyp is not None else ""
        words = self.words(True) if text else []
        emit({
            "type": "final",
            "start": round(self.seg_start / SAMPLE_RATE, 3),
            "end": round(self.pos / SAMPLE_RATE, 3),
            "text": text,
            "words": words,
            "reason": reason,
            "finish_ms": round((time.time() - t0) * 1000),
        })
        self.seg_start = self.pos
        self.last_partial = self.pos
        self.d.start_utt()

    def end(self):
        if self.in_utt:
            self.d.end_utt()
            self.in_utt = False


def live(decoder):
    stdin = sys.stdin.buffer
    stream = None
    while True:
        header = stdin.read(5)
        if len(header) < 5:
            return  # parent went away
        command = header[:1]
        (length,) = struct.unpack("<I", header[1:])
        payload = stdin.read(length) if length else b""
        if len(payload) < length:
            return
        try:
            if command == b"S":
                if stream is not None:
                    stream.end()
                stream = LiveStream(decoder, json.loads(payload or b"{}"))
            elif command == b"A":
                if stream is not None and payload:
                    stream.audio(payload)
            elif command == b"F":
                if stream is not None:
                    reason = json.loads(payload or b"{}").get("reason", "finalize")
                    stream.finish(reason)
            elif command == b"E":
                audio_s = 0.0
                if stream is not None:
                    audio_s = stream.pos / SAMPLE_RATE
                    stream.end()
                    stream = None
                emit({"type": "ended", "audio_s": round(audio_s, 3)})
            else:
                emit({"type": "error", "error": f"unknown command {command!r}"})
        except Exception as e:  # noqa: BLE001
            emit({"type": "error", "error": str(e)})


def main():
    args = [a for a in sys.argv[1:] if not a.startswith("--")]
    flags = {a for a in sys.argv[1:] if a.startswith("--")}
    model_dir = args[0] if args else "/usr/share/pocketsphinx/model/en-us"
    started = time.time()
    decoder = load_decoder(model_dir, fwdflat="--no-fwdflat" not in flags)
    mode = "live" if "--live" in flags else "batch"
    emit({"type": "ready", "load_ms": round((time.time() - started) * 1000), "model": "generic", "mode": mode})
    if mode == "live":
        live(decoder)
    else:
        batch(decoder)


if __name__ == "__main__":
    try:
        main()
    except (BrokenPipeError, KeyboardInterrupt):
        pass
