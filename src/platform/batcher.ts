/** One item's answer from a batch: its value, or the error that item alone met. */
export type ItemResult<Out> = { ok: true; value: Out } | { ok: false; error: unknown };

export interface BatcherOptions {
  /** Most items in one flush. */
  maxBatch: number;
  /** Flushes running at once (1 on the embedded store, which has one connection). */
  concurrency: number;
}

/**
 * Group commit for any write path: items submitted while flushes are running
 * are gathered into the next flush, so N concurrent callers share one set of
 * database round trips instead of paying N. Nothing waits on a timer: a lone
 * item is flushed at once. `flush` answers every item, in order.
 *
 * One item must not fail the others: a flush of several items that throws
 * (e.g. the database refused the statement because of one row) is run again
 * for each item alone, so only the item that fails alone gets an error. A
 * flush must therefore be all-or-nothing (one statement or one transaction),
 * so that running an item again after its group threw does it once.
 */
export class Batcher<In, Out> {
  private readonly queue: { item: In; resolve(value: Out): void; reject(err: unknown): void }[] = [];
  private running = 0;
  private scheduled = false;

  constructor(
    private readonly flush: (items: In[]) => Promise<ItemResult<Out>[]>,
    private readonly options: BatcherOptions,
  ) {}

  submit(item: In): Promise<Out> {
    return new Promise((resolve, reject) => {
      this.queue.push({ item, resolve, reject });
      this.schedule();
    });
  }

  /** Waits one microtask turn so callers of the same tick share a flush. */
  private schedule(): void {
    if (this.scheduled) return;
    this.scheduled = true;
    queueMicrotask(() => {
      this.scheduled = false;
      this.pump();
    });
  }

  private pump(): void {
    while (this.running < this.options.concurrency && this.queue.length > 0) {
      const batch = this.queue.splice(0, this.options.maxBatch);
      this.running += 1;
      void this.run(batch).finally(() => {
        this.running -= 1;
        this.pump();
      });
    }
  }

  private async run(batch: Batcher<In, Out>['queue']): Promise<void> {
    let results: ItemResult<Out>[];
    try {
      results = await this.flush(batch.map((waiting) => waiting.item));
      if (results.length !== batch.length) throw new Error(`a flush answered ${results.length} of ${batch.length} items`);
    } catch (err) {
      if (batch.length === 1) batch[0]!.reject(err);
      else for (const waiting of batch) await this.run([waiting]);
      return;
    }
    batch.forEach((waiting, i) => {
      const result = results[i]!;
      if (result.ok) waiting.resolve(result.value);
      else waiting.reject(result.error);
    });
  }
}

/** Runs `work` for one item and captures its outcome, for flushes that answer items one by one. */
export async function settleItem<Out>(work: () => Promise<Out>): Promise<ItemResult<Out>> {
  try {
    return { ok: true, value: await work() };
  } catch (error) {
    return { ok: false, error };
  }
}
