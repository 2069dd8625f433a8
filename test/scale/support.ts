/**
 * Several Coffer servers as the separate programs they are in production
 * (`node --import tsx src/main.ts`, one PostgreSQL database), behind a small
 * round-robin balancer, next to the real bank simulator process.
 */
import { type ChildProcess, spawn } from 'node:child_process';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { fileURLToPath } from 'node:url';
import { freePort } from '../browser/support.ts';

export interface CofferChild {
  name: string;
  pid: number;
  url: string;
  output(): string;
  /** kill -9: no shutdown hook runs, leases and in-flight work are left as they are. */
  kill(): Promise<void>;
  stop(): Promise<void>;
  alive(): boolean;
}

const MAIN = fileURLToPath(new URL('../../src/main.ts', import.meta.url));
const START_TIMEOUT_MS = 120_000;

/** Starts one Coffer server process on a free port and waits until it is ready (GET /readyz). */
export async function startCofferChild(name: string, env: Record<string, string>): Promise<CofferChild> {
  const port = await freePort();
  const child = spawn(process.execPath, ['--import', 'tsx', MAIN], {
    env: { ...process.env, LOG_LEVEL: 'warn', ...env, PORT: String(port) },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let output = '';
  child.stdout!.on('data', (chunk: Buffer) => (output += chunk.toString()));
  child.stderr!.on('data', (chunk: Buffer) => (output += chunk.toString()));
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  const alive = () => child.exitCode === null && child.signalCode === null;
  const signalAndWait = async (signal: NodeJS.Signals) => {
    if (alive()) child.kill(signal);
    await exited;
  };
  const url = `http://127.0.0.1:${port}`;
  const coffer: CofferChild = {
    name,
    pid: child.pid!,
    url,
    output: () => output,
    alive,
    kill: () => signalAndWait('SIGKILL'),
    stop: () => stopGently(child, exited),
  };
  try {
    await waitUntilReady(url, alive, () => output);
    return coffer;
  } catch (err) {
    await coffer.kill();
    throw err;
  }
}

async function stopGently(child: ChildProcess, exited: Promise<void>): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return;
  child.kill('SIGTERM');
  const killer = setTimeout(() => child.kill('SIGKILL'), 15_000);
  await exited;
  clearTimeout(killer);
}

async function waitUntilReady(url: string, alive: () => boolean, output: () => string): Promise<void> {
  const deadline = Date.now() + START_TIMEOUT_MS;
  for (;;) {
    if (!alive()) throw new Error(`Coffer at ${url} exited while starting:\n${output()}`);
    const ready = await fetch(`${url}/readyz`).then(
      (response) => response.ok,
      () => false,
    );
    if (ready) return;
    if (Date.now() > deadline) throw new Error(`Coffer at ${url} was not ready in ${START_TIMEOUT_MS} ms:\n${output()}`);
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
}

/** One request that went through the balancer, with when it started and when its answer ended. */
export interface Exchange {
  /** The backend that answered (undefined when none did). */
  backend: string | undefined;
  method: string;
  path: string;
  body: string;
  startedAtMs: number;
  endedAtMs: number;
}

/**
 * The load balancer in front of the processes: each request goes to the next
 * backend in turn; a backend that refuses the connection (it is dead: the
 * request never arrived) is skipped. A backend that dies mid-request answers
 * 502, as a real balancer would: the client retries (Idempotency-Key). Every
 * exchange is recorded, so it also serves as a wiretap in front of one backend.
 */
export class RoundRobinBalancer {
  readonly exchanges: Exchange[] = [];
  private server: http.Server | undefined;
  private next = 0;
  url = '';

  constructor(private readonly backends: () => string[]) {}

  async start(): Promise<void> {
    const server = http.createServer((req, res) => {
      const chunks: Buffer[] = [];
      req.on('data', (chunk: Buffer) => chunks.push(chunk));
      req.on('end', () => void this.forward(req, Buffer.concat(chunks), res));
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    this.server = server;
    this.url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  }

  async stop(): Promise<void> {
    const server = this.server;
    if (!server) return;
    server.closeAllConnections();
    await new Promise<void>((resolve) => server.close(() => resolve()));
  }

  private async forward(req: http.IncomingMessage, body: Buffer, res: http.ServerResponse): Promise<void> {
    const startedAtMs = Date.now();
    let answeredBy: string | undefined;
    // Ended when the answer is through or the client gave up waiting, whichever comes first.
    res.once('close', () => {
      this.exchanges.push({ backend: answeredBy, method: req.method ?? 'GET', path: req.url ?? '/', body: body.toString('utf8'), startedAtMs, endedAtMs: Date.now() });
    });
    const backends = this.backends();
    for (let tried = 0; tried < backends.length; tried++) {
      answeredBy = backends[this.next++ % backends.length]!;
      if ((await proxyOnce(answeredBy, req, body, res)) !== 'refused') return;
    }
    answeredBy = undefined;
    res.writeHead(503).end('no backend');
  }
}

function proxyOnce(backend: string, req: http.IncomingMessage, body: Buffer, res: http.ServerResponse): Promise<'done' | 'refused'> {
  return new Promise((resolve) => {
    const upstream = http.request(`${backend}${req.url ?? '/'}`, { method: req.method, headers: { ...req.headers, host: new URL(backend).host } }, (answer) => {
      res.writeHead(answer.statusCode ?? 502, answer.headers);
      answer.pipe(res);
      answer.on('end', () => resolve('done'));
      answer.on('error', () => {
        res.destroy();
        resolve('done');
      });
    });
    upstream.on('error', (err: NodeJS.ErrnoException) => {
      if (err.code === 'ECONNREFUSED') return resolve('refused');
      if (!res.headersSent) res.writeHead(502).end(`backend failed: ${err.message}`);
      else res.destroy();
      resolve('done');
    });
    upstream.end(body);
  });
}
