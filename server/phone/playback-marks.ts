// Which of our marks Twilio has echoed. A mark goes out after the last frame of each reply segment;
// Twilio sends it back when the audio before it has played, so an echoed mark means "segment i of
// reply R has been heard to its end". A `clear` makes Twilio echo every pending mark at once without
// playing anything: those are forgotten at the clear, and their echoes ignored. Pure.

export interface MarkPoint {
  replyId: string;
  segment: number;
}

export class PlaybackMarks {
  #seq = 0;
  readonly #pending = new Map<string, MarkPoint>();

  /** A mark for the end of `segment` of `replyId`: its name, to send. */
  add(point: MarkPoint): string {
    const name = `m${++this.#seq}`;
    this.#pending.set(name, point);
    return name;
  }

  /** Twilio echoed `name`: the point reached, or null for a mark dropped by a clear (or not ours). */
  echoed(name: string): MarkPoint | null {
    const point = this.#pending.get(name);
    if (!point) return null;
    this.#pending.delete(name);
    return point;
  }

  /** Audio of `replyId` sent and not yet heard to its end. */
  pendingFor(replyId: string): number {
    let n = 0;
    for (const p of this.#pending.values()) if (p.replyId === replyId) n++;
    return n;
  }

  get pending(): number {
    return this.#pending.size;
  }

  /** A `clear` went out: nothing pending will be heard. */
  clear(): void {
    this.#pending.clear();
  }
}
