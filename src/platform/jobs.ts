import type { Logger } from './log.ts';

export interface IntervalJob {
  stop(): Promise<void>;
}

/**
 * Runs `work` every `intervalMs`, never two runs at once; a failing run is
 * logged and the next one comes as usual. Work that must not run twice across
 * processes guards itself in the database (row locks, idempotent ids).
 */
export function startIntervalJob(name: string, intervalMs: number, work: () => Promise<unknown>, logger: Logger): IntervalJob {
  let running: Promise<void> | undefined;
  let stopped = false;
  const tick = () => {
    if (running || stopped) return;
    running = work()
      .then(
        () => undefined,
        (err: unknown) => logger.error({ err, job: name }, `job ${name} failed`),
      )
      .finally(() => {
        running = undefined;
      });
  };
  const timer = setInterval(tick, intervalMs);
  timer.unref();
  return {
    async stop() {
      stopped = true;
      clearInterval(timer);
      await running;
    },
  };
}
