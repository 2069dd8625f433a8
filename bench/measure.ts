/** What the benchmarks measure besides wall time: CPU per thread and process, and CPU profiles. */
import fs from 'node:fs';
import { Session } from 'node:inspector/promises';
import { Worker } from 'node:worker_threads';

/** `--profile`: a CPU profile of the timed part only, written to .tmp/ for Chrome DevTools or speedscope. */
export async function startProfiler(): Promise<{ stop(name: string): Promise<void> } | undefined> {
  if (!process.argv.includes('--profile')) return undefined;
  const session = new Session();
  session.connect();
  await session.post('Profiler.enable');
  await session.post('Profiler.start');
  return {
    async stop(name) {
      const { profile } = await session.post('Profiler.stop');
      fs.mkdirSync('.tmp', { recursive: true });
      const file = `.tmp/${name}-${Date.now()}.cpuprofile`;
      fs.writeFileSync(file, JSON.stringify(profile));
      console.error(`# CPU profile of the timed part: ${file}`);
      session.disconnect();
    },
  };
}

/** This process's main thread's user + system CPU time (Linux /proc; clock ticks of 10 ms). */
export function mainThreadCpuMs(): number {
  return cpuMsOf(`/proc/self/task/${process.pid}/stat`);
}

/** Of `mainThreadCpuMs`, the part spent in the kernel (socket writes and reads, mostly). */
export function mainThreadSysCpuMs(): number {
  const stat = fs.readFileSync(`/proc/self/task/${process.pid}/stat`, 'utf8');
  return Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[12]) * 10;
}

/** CPU time of every PostgreSQL process on this machine (when the server is local and visible). */
export function localPostgresCpuMs(): number {
  let total = 0;
  for (const pid of fs.readdirSync('/proc').filter((name) => /^\d+$/.test(name))) {
    try {
      if (fs.readFileSync(`/proc/${pid}/comm`, 'utf8').trim() === 'postgres') total += cpuMsOf(`/proc/${pid}/stat`);
    } catch {
      // the process ended meanwhile
    }
  }
  return total;
}

/** User + system CPU time of a whole process (every thread), e.g. a child Coffer server; 0 once it is gone. */
export function processCpuMs(pid: number): number {
  try {
    return cpuMsOf(`/proc/${pid}/stat`);
  } catch {
    return 0;
  }
}

function cpuMsOf(statFile: string): number {
  const stat = fs.readFileSync(statFile, 'utf8');
  const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  return (Number(fields[11]) + Number(fields[12])) * 10;
}

/**
 * Starts a load generator in a worker thread (off the measured event loop);
 * `go()` lets it send and answers with its elapsed time and per-request latencies.
 */
export async function loadWorker(script: URL, workerData: unknown): Promise<{ go(): Promise<{ elapsedMs: number; latencies: number[] }> }> {
  const worker = new Worker(script, { workerData });
  const failed = new Promise<never>((_, reject) => worker.once('error', reject));
  await Promise.race([new Promise((resolve) => worker.once('message', resolve)), failed]);
  return {
    go() {
      const done = new Promise<{ elapsedMs: number; latencies: number[] }>((resolve) => worker.once('message', resolve));
      worker.postMessage('go');
      return Promise.race([done, failed]);
    },
  };
}

/** The `p`th percentile (0-100) of latencies sorted ascending, rounded to 0.01 ms. */
export function percentile(sorted: number[], p: number): number {
  if (sorted.length === 0) return NaN;
  return Math.round(sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))]! * 100) / 100;
}

/** The machine's 1, 5 and 15 minute load averages, as /proc/loadavg prints them. */
export function loadAverage(): string {
  return fs.readFileSync('/proc/loadavg', 'utf8').split(' ').slice(0, 3).join(' ');
}

/** Runs `work(0..count-1)` with at most `lanes` at once. */
export async function inParallel(count: number, lanes: number, work: (i: number) => Promise<void>): Promise<void> {
  let next = 0;
  await Promise.all(
    Array.from({ length: lanes }, async () => {
      while (next < count) await work(next++);
    }),
  );
}
