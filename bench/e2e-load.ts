/**
 * The load generator of `bench:e2e`, a process of its own (forked by bench/e2e.ts)
 * so its HTTP client work never shares an event loop with what it measures.
 * For each run it gets a workload, the Coffer processes' URLs, a concurrency and
 * a duration: lane i keeps one request in flight at a time on a keep-alive
 * connection to process i mod N (so the connections are spread evenly over the
 * processes, no balancer in between), until the duration is over or the
 * workload has nothing left to send. It answers with what it sent, what failed
 * and the latency of every request that succeeded.
 */
import http from 'node:http';
import { signMerchantRequest } from '../src/modules/merchants/index.ts';

/** One workload, as bench/e2e.ts describes it. */
export type Workload =
  /** Bank notifications signed up front: GET each path once; success is 200 `OK`. */
  | { kind: 'recharges'; paths: string[] }
  /** Signed `POST /v1/payouts`, order numbers `<prefix><i>`, signed here as the merchant's servers would; success is 202. */
  | { kind: 'payouts'; keyId: string; secret: string; prefix: string; amount: string; accountNo: string }
  /** `GET /my/wallets` with the users' tokens in turn; success is 200. */
  | { kind: 'reads'; tokens: string[] };

export interface LoadRun {
  workload: Workload;
  targets: string[];
  concurrency: number;
  durationMs: number;
}

export interface LoadResult {
  /** Requests sent: indexes 0..sent-1 of the workload. */
  sent: number;
  /** Indexes that did not succeed, with why. */
  failed: { index: number; why: string }[];
  /** Latency of each successful request, ms. */
  latencies: number[];
  elapsedMs: number;
  /** This process's CPU time during the run (user + system), ms. */
  cpuMs: number;
}

interface Request {
  method: string;
  path: string;
  headers: Record<string, string>;
  body?: string;
  ok(status: number, body: string): boolean;
}

function requestOf(workload: Workload, i: number): Request | undefined {
  switch (workload.kind) {
    case 'recharges':
      if (i >= workload.paths.length) return undefined;
      return { method: 'GET', path: workload.paths[i]!, headers: {}, ok: (status, body) => status === 200 && body === 'OK' };
    case 'payouts': {
      const body = JSON.stringify({
        merchantOrderNo: `${workload.prefix}${i}`,
        amount: workload.amount,
        currency: 'CNY',
        beneficiary: { name: 'Li Lei', accountNo: workload.accountNo, bankCode: 'ICBC' },
      });
      const auth = signMerchantRequest({ keyId: workload.keyId, secret: workload.secret, method: 'POST', path: '/v1/payouts', body });
      return { method: 'POST', path: '/v1/payouts', headers: { ...auth, 'content-type': 'application/json' }, body, ok: (status) => status === 202 };
    }
    case 'reads':
      return { method: 'GET', path: '/my/wallets', headers: { authorization: `Bearer ${workload.tokens[i % workload.tokens.length]}` }, ok: (status) => status === 200 };
  }
}

function send(target: URL, agent: http.Agent, request: Request): Promise<{ status: number; body: string }> {
  return new Promise((resolve, reject) => {
    const sent = http.request(
      { host: target.hostname, port: target.port, method: request.method, path: request.path, headers: request.headers, agent },
      (response) => {
        let text = '';
        response.setEncoding('utf8');
        response.on('data', (chunk: string) => (text += chunk));
        response.on('end', () => resolve({ status: response.statusCode ?? 0, body: text }));
        response.on('error', reject);
      },
    );
    sent.on('error', reject);
    sent.end(request.body);
  });
}

async function run({ workload, targets, concurrency, durationMs }: LoadRun): Promise<LoadResult> {
  const lanes = Array.from({ length: concurrency }, (_, lane) => lane);
  const urls = targets.map((target) => new URL(target));
  const agents = urls.map(() => new http.Agent({ keepAlive: true, maxSockets: Math.ceil(concurrency / urls.length) }));
  const failed: LoadResult['failed'] = [];
  const latencies: number[] = [];
  let next = 0;
  const cpuBefore = process.cpuUsage();
  const started = performance.now();
  const deadline = started + durationMs;
  await Promise.all(
    lanes.map(async (lane) => {
      const target = lane % urls.length;
      while (performance.now() < deadline) {
        const index = next;
        const request = requestOf(workload, index);
        if (!request) return;
        next += 1;
        const t0 = performance.now();
        try {
          const reply = await send(urls[target]!, agents[target]!, request);
          if (request.ok(reply.status, reply.body)) latencies.push(performance.now() - t0);
          else failed.push({ index, why: `${reply.status} ${reply.body.slice(0, 200)}` });
        } catch (err) {
          failed.push({ index, why: (err as Error).message });
        }
      }
    }),
  );
  const elapsedMs = performance.now() - started;
  const cpu = process.cpuUsage(cpuBefore);
  for (const agent of agents) agent.destroy();
  return { sent: next, failed, latencies, elapsedMs, cpuMs: (cpu.user + cpu.system) / 1000 };
}

process.on('message', (message: LoadRun) => {
  run(message).then(
    (result) => process.send!(result),
    (err: unknown) => process.send!({ error: String((err as Error)?.stack ?? err) }),
  );
});
