/**
 * Shared by the webhooks suites: a small receiving HTTP server (the merchant's
 * side) whose answers each test scripts per path, and helpers over the signed
 * merchant API.
 */
import assert from 'node:assert/strict';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { publish } from '../../src/platform/outbox/index.ts';
import { PAYOUT_FINAL } from '../../src/modules/payouts/index.ts';
import type { PayoutFinalMessage } from '../../src/modules/webhooks/index.ts';
import type { RunningCoffer } from '../../src/main.ts';
import { sleep, type MerchantClient } from '../merchants/support.ts';

export interface Received {
  path: string;
  headers: http.IncomingHttpHeaders;
  raw: Buffer;
  atMs: number;
}

/** What the receiver does with one request. */
export type Behaviour =
  | { kind: 'status'; status: number; headers?: Record<string, string>; body?: string }
  | { kind: 'slow'; delayMs: number; status: number }
  | { kind: 'reset' };

export class Receiver {
  readonly received: Received[] = [];
  private readonly scripts = new Map<string, Behaviour[]>();
  private readonly defaults = new Map<string, Behaviour>();
  private server: http.Server | undefined;
  port = 0;

  /** Answers on `path`: the scripted behaviours in turn, then `fallback` (200 by default). */
  script(path: string, behaviours: Behaviour[], fallback: Behaviour = { kind: 'status', status: 200 }): void {
    this.scripts.set(path, [...behaviours]);
    this.defaults.set(path, fallback);
  }

  url(path: string): string {
    return `http://127.0.0.1:${this.port}${path}`;
  }

  at(path: string): Received[] {
    return this.received.filter((r) => r.path === path);
  }

  async start(port = 0): Promise<void> {
    const server = http.createServer((req, res) => {
      const chunks: Buffer[] = [];
      req.on('data', (chunk: Buffer) => chunks.push(chunk));
      req.on('end', () => {
        const path = req.url ?? '/';
        this.received.push({ path, headers: req.headers, raw: Buffer.concat(chunks), atMs: Date.now() });
        const behaviour = this.scripts.get(path)?.shift() ?? this.defaults.get(path) ?? { kind: 'status', status: 200 };
        if (behaviour.kind === 'reset') {
          req.socket.destroy();
        } else if (behaviour.kind === 'slow') {
          setTimeout(() => res.writeHead(behaviour.status).end('late'), behaviour.delayMs);
        } else {
          res.writeHead(behaviour.status, behaviour.headers ?? {}).end(behaviour.body ?? 'ok');
        }
      });
    });
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject);
      server.listen(port, '127.0.0.1', resolve);
    });
    this.server = server;
    this.port = (server.address() as AddressInfo).port;
  }

  async stop(): Promise<void> {
    const server = this.server;
    this.server = undefined;
    if (!server) return;
    server.closeAllConnections();
    await new Promise<void>((resolve) => server.close(() => resolve()));
  }
}

export interface EndpointCreated {
  id: string;
  url: string;
  secret: string;
  createdAt: string;
}

export interface AttemptView {
  attempt: number;
  at: string;
  durationMs: number;
  httpStatus: number | null;
  error: string | null;
  responseBody: string | null;
}

export interface DeliveryView {
  id: string;
  eventId: string;
  eventType: string;
  endpointId: string;
  url: string;
  status: string;
  attemptCount: number;
  nextAttemptAt: string | null;
  giveUpAt: string;
  deliveredAt: string | null;
  createdAt: string;
  attempts: AttemptView[];
}

export async function createEndpoint(client: MerchantClient, url: string): Promise<EndpointCreated> {
  const response = await client.request<EndpointCreated>('POST', '/v1/webhook-endpoints', { body: JSON.stringify({ url }) });
  assert.equal(response.status, 201, JSON.stringify(response.body));
  return response.body;
}

export async function deliveries(client: MerchantClient, query = ''): Promise<DeliveryView[]> {
  const response = await client.request<{ data: DeliveryView[]; hasMore: boolean }>('GET', `/v1/webhook-deliveries${query}`);
  assert.equal(response.status, 200, JSON.stringify(response.body));
  return response.body.data;
}

/** What the payouts module publishes when a payout reaches a final status. */
export function payoutFinal(merchantId: string, status: PayoutFinalMessage['status'], payoutId: string, updated = new Date().toISOString()): PayoutFinalMessage {
  return {
    merchantId,
    status,
    payout: { id: payoutId, merchantOrderNo: `order-${payoutId}`, amount: '10.00', currency: 'CNY', status, created: updated, updated },
  };
}

export async function publishPayoutFinal(coffer: RunningCoffer, message: PayoutFinalMessage): Promise<void> {
  await publish(coffer.store.db, { topic: PAYOUT_FINAL, key: message.payout.id, payload: message });
}

export async function waitFor<T>(what: string, probe: () => Promise<T | undefined | false>, timeoutMs = 15_000): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = await probe();
    if (value !== undefined && value !== false) return value;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await sleep(50);
  }
}
