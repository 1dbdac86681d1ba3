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
          b"S" start a stream, payload JSON {"interim_ms": 250, "interim": true, "seed_ms": 500}
              (seed_ms: speech on which the stream's cepstral mean is measured, 0 = PocketSphinx's own; LiveStream)
          b"A" audio: 16 kHz mono PCM16 little-endian, any length (even)
          b"F" finalize the current segment now, payload JSON {"reason": "finalize" | "close"}
          b"E" end the stream (drops what is pending, no result)
  stdout: ready / fatal as above (ready adds "cmn_seed": false and "cmn_seed_off": why, when the
          mean cannot be reached: LiveCmn), then per stream:
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
import array
import ctypes
import json
import math
import os
import struct
import sys
import time
from collections import deque

FRAME_RATE = 100  # pocketsphinx default -frate
SAMPLE_RATE = 16000
VAD_STARTSPEECH_S = 0.10  # -vad_startspeech 10 frames: the VAD says "speech" this long after it began
CHUNK_BYTES = 640  # 20 ms: VAD transitions, interim timing and the seed at 20 ms resolution
# Audio kept from before the seed's first voiced chunk, decoded again with the segment's own mean:
# -vad_prespeech (0.2 s) and a little more, so the VAD hears the speech begin again at the same place.
SEED_PREROLL_CHUNKS = 15  # 0.3 s
DEFAULT_SEED_MS = 500
# A chunk is voiced (counts for the seed) this far above the stream's quietest chunk, and above
# VOICED_MIN_DBFS: room noise through a browser is -60..-85 dBFS, speech after its AGC -5..-30.
VOICED_ABOVE_FLOOR_DB = 15.0
VOICED_MIN_DBFS = -60.0


def chunk_dbfs(chunk):
    """RMS level of PCM16 little-endian bytes, dB relative to full scale."""
    samples = array.array("h", chunk)
    if sys.byteorder != "little":
        samples.byteswap()
    if not samples:
        return -120.0
    power = sum(x * x for x in samples) / len(samples)
    return 10 * math.log10(power / (32768.0 * 32768.0)) if power > 0 else -120.0


class LiveCmn:
    """The decoder's running cepstral mean (sphinxbase's cmn_t, reached through feat_t), via ctypes.

    Why: decoding in pieces, PocketSphinx subtracts a running mean that it only updates when an
    utterance ends (or after 8 s of speech). The first segment of a stream is decoded with the
    model's -cmninit, and a segment that is only noise (the VAD triggers on the first frames of a
    stream) sets the mean to the noise's; both are far from a browser microphone's speech after AGC,
    and recognition collapses. Batch decoding subtracts the utterance's own mean and is unaffected.
    PocketSphinx 5 exposes this (Decoder.get_cmn/set_cmn); Debian's 0.8+5prealpha bindings do not.
    Layout (sphinxbase 5prealpha, LP64): feat_t.cmn_struct at byte 88; cmn_t is
    {float *cmn_mean, *cmn_var, *sum; int32 nframe, veclen}. It is checked against the model's
    -cmninit on a fresh decoder; on any mismatch `ok` is False and streams decode as before.
    """

    FEAT_CEPSIZE = 16
    FEAT_CMN_STRUCT = 88
    CMN_NFRAME = 24
    CMN_VECLEN = 28

    def __init__(self, decoder, model_dir):
        self.ok = False
        self.why = ""
        try:
            expected = self._cmninit(model_dir)
            if expected is None:
                self.why = "the model has no -cmninit to check the layout against"
                return
            if ctypes.sizeof(ctypes.c_void_p) != 8:
                self.why = "not a 64-bit process"
                return
            feat = int(decoder.get_feat().this)
            if ctypes.c_int32.from_address(feat + self.FEAT_CEPSIZE).value != len(expected):
                self.why = "feat_t layout differs (cepsize)"
                return
            cmn = ctypes.c_void_p.from_address(feat + self.FEAT_CMN_STRUCT).value
            if not cmn or ctypes.c_int32.from_address(cmn + self.CMN_VECLEN).value != len(expected):
                self.why = "cmn_t layout differs (veclen)"
                return
            self.n = len(expected)
            self.mean_p = ctypes.c_void_p.from_address(cmn).value
            self.sum_p = ctypes.c_void_p.from_address(cmn + 16).value
            self.nframe_addr = cmn + self.CMN_NFRAME
            self.mean = (ctypes.c_float * self.n).from_address(self.mean_p)
            self.sum = (ctypes.c_float * self.n).from_address(self.sum_p)
            if any(abs(a - b) > 0.01 for a, b in zip(self.mean, expected)):
                self.why = "the running mean is not the model's -cmninit"
                return
            self.ok = True
        except Exception as e:  # noqa: BLE001
            self.why = str(e)

    @staticmethod
    def _cmninit(model_dir):
        try:
            with open(os.path.join(model_dir, "en-us", "feat.params")) as f:
                for line in f:
                    parts = line.split()
                    if len(parts) == 2 and parts[0] == "-cmninit":
                        return [float(v) for v in parts[1].split(",")]
        except OSError:
            return None
        return None

    @property
    def nframe(self):
        return ctypes.c_int32.from_address(self.nframe_addr).value

    def accumulated_mean(self):
        """Mean of the frames accumulated since restart(), or None if there were none."""
        n = self.nframe
        return [self.sum[i] / n for i in range(self.n)] if n > 0 else None

    def restart(self, mean=None):
        """Accumulate from zero (keeping, or setting, the mean subtracted meanwhile): the next
        update (end of utterance) makes the mean that of the frames heard from now on only."""
        if mean is not None:
            for i in range(self.n):
                self.mean[i] = mean[i]
        for i in range(self.n):
            self.sum[i] = 0.0
        ctypes.c_int32.from_address(self.nframe_addr).value = 0

    def snapshot(self):
        return (list(self.mean), list(self.sum), self.nframe)

    def restore(self, snap):
        mean, total, nframe = snap
        for i in range(self.n):
            self.mean[i] = mean[i]
            self.sum[i] = total[i]
        ctypes.c_int32.from_address(self.nframe_addr).value = nframe


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
    """One live stream on the process's decoder. Word times count from the stream's start.

    The cepstral mean (`cmn`, see LiveCmn). A stream's first voiced segment is decoded with its own
    mean: from the first voiced chunk after the VAD heard speech begin, the segment is decoded as
    usual for `seed_ms`; then that first pass is dropped, the mean of its frames becomes the mean
    subtracted, and the segment (from SEED_PREROLL_CHUNKS before that chunk) is decoded again, then
    onwards live. Interim results pause during the seed; the final's latency is unchanged (the
    second pass catches up in a few tens of ms). Later segments keep PocketSphinx's running mean,
    which from then on is the mean of this stream's speech (a mean over several utterances
    recognises them better than one measured on each utterance's first 0.5 s). A segment with no
    voiced chunk does not move the mean: the VAD also triggers on a stream's first frames of room
    noise and can stay in speech until the user speaks, and a mean of that noise is as wrong as none.
    """

    def __init__(self, decoder, options, cmn=None):
        self.d = decoder
        self.logmath = decoder.get_logmath()
        self.interim = bool(options.get("interim", True))
        self.interim_samples = int(SAMPLE_RATE * max(20, int(options.get("interim_ms", 250))) / 1000)
        seed_ms = int(options.get("seed_ms", DEFAULT_SEED_MS))
        self.cmn = cmn if cmn is not None and cmn.ok and seed_ms > 0 else None
        self.seed_samples = int(SAMPLE_RATE * seed_ms / 1000)
        self.pos = 0  # samples fed so far
        self.seg_start = 0  # samples: start of the segment being decoded
        self.in_speech = False
        self.announced = False  # speech_started sent for this segment
        self.last_partial = 0
        self.odd = b""
        self.floor_db = 0.0  # quietest 20 ms chunk of the stream so far (dBFS)
        self.recent = deque(maxlen=SEED_PREROLL_CHUNKS)  # chunks before the seed
        self.seed = None  # chunks of the segment's first pass while its mean is measured
        self.seed_from = 0  # samples: where the seed's first voiced chunk ends
        self.stream_seeded = False  # the mean has been measured on this stream's speech
        self.seg_voiced = False  # the segment being decoded had a voiced chunk in speech
        self.clock_origin = 0  # samples: where the decoder's frame clock (start_stream) began
        self.d.start_stream()
        self.d.start_utt()
        self.in_utt = True
        self.before_segment = self.cmn.snapshot() if self.cmn is not None else None

    def words(self, final):
        out = []
        origin = self.clock_origin / SAMPLE_RATE
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
            out.append([w, round(origin + seg.start_frame / FRAME_RATE, 3), round(origin + (seg.end_frame + 1) / FRAME_RATE, 3), round(conf, 3)])
        return out

    def audio(self, pcm):
        if self.odd:
            pcm = self.odd + pcm
            self.odd = b""
        if len(pcm) % 2:
            self.odd = pcm[-1:]
            pcm = pcm[:-1]
        for i in range(0, len(pcm), CHUNK_BYTES):
            self.feed(pcm[i : i + CHUNK_BYTES])

    def voiced(self, chunk):
        """Louder than the stream's quietest chunk by VOICED_ABOVE_FLOOR_DB, and than VOICED_MIN_DBFS."""
        db = chunk_dbfs(chunk)
        self.floor_db = min(self.floor_db, max(db, -90.0))
        return db >= max(VOICED_MIN_DBFS, self.floor_db + VOICED_ABOVE_FLOOR_DB)

    def feed(self, chunk):
        self.d.process_raw(chunk, False, False)
        self.pos += len(chunk) // 2
        voiced = self.voiced(chunk)
        if self.seed is not None:
            self.seed.append(chunk)
        speech = self.d.get_in_speech()
        if speech and not self.in_speech and not self.announced:
            self.announced = True
            emit({"type": "speech_started", "timestamp": round(max(self.seg_start / SAMPLE_RATE, self.pos / SAMPLE_RATE - VAD_STARTSPEECH_S), 3)})
            self.last_partial = self.pos
        elif self.in_speech and not speech:
            self.in_speech = False
            self.finish("endpoint")
            return
        self.in_speech = speech
        if speech and voiced:
            self.seg_voiced = True
        if speech and voiced and self.cmn is not None and self.seed is None and not self.stream_seeded:
            self.seed = list(self.recent) + [chunk]
            self.seed_from = self.pos
            self.cmn.restart()  # the mean is measured from this chunk on
        if self.seed is None:
            self.recent.append(chunk)
        elif self.pos - self.seed_from >= self.seed_samples:
            self.reseed()
        if speech and self.seed is None and self.interim and self.pos - self.last_partial >= self.interim_samples:
            self.last_partial = self.pos
            hyp = self.d.hyp()
            emit({
                "type": "partial",
                "start": round(self.seg_start / SAMPLE_RATE, 3),
                "end": round(self.pos / SAMPLE_RATE, 3),
                "text": hyp.hypstr if hyp is not None else "",
                "words": self.words(False),
            })

    def reseed(self):
        """Drop the segment's first pass; decode it again with the mean of its own frames."""
        seed, self.seed = self.seed, None
        self.stream_seeded = True
        mean = self.cmn.accumulated_mean()
        self.d.end_utt()  # its update of the mean is overwritten just below
        self.cmn.restart(mean)
        self.clock_origin = self.pos - sum(len(c) for c in seed) // 2
        self.d.start_stream()  # the frame clock restarts where the audio fed again begins
        self.d.start_utt()
        for chunk in seed:
            self.d.process_raw(chunk, False, False)
        self.in_speech = self.d.get_in_speech()
        self.recent.clear()

    def finish(self, reason):
        """End the segment: its final result, then a new segment starts where it ended."""
        t0 = time.time()
        if self.seed is not None:
            self.reseed()
        self.d.end_utt()
        if self.cmn is not None and not self.seg_voiced:
            self.cmn.restore(self.before_segment)  # noise only: PocketSphinx's update is undone
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
        self.announced = self.in_speech  # a segment cut by Finalize mid-speech was announced already
        self.seg_voiced = False
        if self.cmn is not None:
            self.before_segment = self.cmn.snapshot()
        self.d.start_utt()

    def end(self):
        if self.in_utt:
            self.d.end_utt()
            self.in_utt = False


def live(decoder, cmn):
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
                stream = LiveStream(decoder, json.loads(payload or b"{}"), cmn)
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
    ready = {"type": "ready", "load_ms": round((time.time() - started) * 1000), "model": "generic", "mode": mode}
    cmn = None
    if mode == "live":
        cmn = LiveCmn(decoder, model_dir)
        # Without access to the mean, segments are decoded as PocketSphinx does by itself (worse).
        ready["cmn_seed"] = cmn.ok
        if not cmn.ok:
            ready["cmn_seed_off"] = cmn.why
    emit(ready)
    if mode == "live":
        live(decoder, cmn)
    else:
        batch(decoder)


if __name__ == "__main__":
    try:
        main()
    except (BrokenPipeError, KeyboardInterrupt):
        pass
