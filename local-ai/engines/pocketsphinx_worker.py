#!/usr/bin/python3
"""Persistent PocketSphinx decoder for Parley's offline stand-in (run with Debian's /usr/bin/python3).

Protocol (binary in, JSON lines out):
  stdin:  repeated [uint32 little-endian byte length][16 kHz mono PCM16 little-endian bytes]
  stdout: one JSON object per line:
          {"type":"ready","load_ms":...,"model":...}          once, after the decoder has loaded
          {"type":"fatal","kind":"import"|"model"|"init","error":...}   then exit(3)
          {"type":"result","text":...,"words":[[word,start_s,end_s],...],"decode_ms":...}
          {"type":"error","error":...}                            the decoder survives
Exits when stdin closes, so it never outlives the engine server that spawned it.
"""
import json
import os
import struct
import sys
import time

FRAME_RATE = 100  # pocketsphinx default -frate


def emit(obj):
    sys.stdout.write(json.dumps(obj) + "\n")
    sys.stdout.flush()


def main():
    model_dir = sys.argv[1] if len(sys.argv) > 1 else "/usr/share/pocketsphinx/model/en-us"
    started = time.time()
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
        decoder = Decoder(config)
    except Exception as e:  # noqa: BLE001
        emit({"type": "fatal", "kind": "init", "error": f"decoder failed to start ({e})"})
        sys.exit(3)
    emit({"type": "ready", "load_ms": round((time.time() - started) * 1000), "model": "generic"})

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
                w = seg.word
                if w.startswith("<") or w.startswith("[") or w in ("<s>", "</s>", "<sil>"):
                    continue
                if w.endswith(")") and "(" in w:  # alternate pronunciation, e.g. "the(2)"
                    w = w[: w.index("(")]
                words.append([w, seg.start_frame / FRAME_RATE, (seg.end_frame + 1) / FRAME_RATE])
            emit({"type": "result", "text": text, "words": words, "decode_ms": round((time.time() - t0) * 1000)})
        except Exception as e:  # noqa: BLE001
            emit({"type": "error", "error": str(e)})


if __name__ == "__main__":
    try:
        main()
    except (BrokenPipeError, KeyboardInterrupt):
        pass
