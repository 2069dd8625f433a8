/**
 * Runs work for one key after the previous work of that key has settled, and
 * work of different keys at once: the messages of one aggregate reach a
 * consumer in order, as the relay's delivery waves do.
 */
export class KeyedQueue {
  private readonly tails = new Map<string | null, Promise<void>>();

  run(key: string | null, work: () => Promise<void>): Promise<void> {
    const next = (this.tails.get(key) ?? Promise.resolve()).then(work);
    this.tails.set(key, next);
    const forget = () => {
      if (this.tails.get(key) === next) this.tails.delete(key);
    };
    next.then(forget, forget);
    return next;
  }
}
