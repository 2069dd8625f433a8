import { createHash, randomBytes } from 'node:crypto';
import type { FastifyReply, FastifyRequest } from 'fastify';
import { type Kysely, sql } from 'kysely';
import type { Migration } from 'kysely/migration';
import type { Clock } from '../clock.ts';
import { DomainError } from '../errors.ts';
import type { HttpModule } from './server.ts';

/**
 * `Idempotency-Key` for POST routes that opt in (SPEC 5, 9): a client may
 * retry a POST with the same key and get the first answer again, byte for
 * byte and with the same status, while the work is done once.
 *
 * One row per (scope, key) — the table's primary key is what makes two
 * processes agree — holding a fingerprint of the request (method, path and
 * body bytes) and, once answered, the stored response:
 *
 *   no row                        -> claim it (IN_FLIGHT, with a lease) and run the route
 *   DONE, same fingerprint        -> the stored status and body again (`idempotent-replayed: true`)
 *   any row, other fingerprint    -> 422 IDEMPOTENCY_KEY_REUSED
 *   IN_FLIGHT, lease running      -> 409 IDEMPOTENCY_KEY_IN_USE (retry later)
 *   IN_FLIGHT, lease run out      -> the process that claimed it died: take the claim over and run again
 *
 * Answers with status >= 500 are not stored: the claim is released so a
 * retry runs the route again. Because a crash after the route's work but
 * before the answer is stored lets a retry run it twice, routes that move
 * money must be idempotent themselves too (the adjustment route keys its
 * adjustment on the idempotency key); this layer makes the common case (a
 * lost answer, a double click) cheap and exact.
 *
 * The scope names whose keys these are (keys of different merchants never
 * collide): `merchant:<id>` for signed /v1 requests, `admin:<kind>:<id>` for
 * admin credentials.
 *
 * Usage on a route (after the authentication preHandler, which the scope needs):
 *
 *   const idem = app.idempotent((request) => `merchant:${request.merchant!.merchantId}`);
 *   app.post('/v1/things', { preValidation: app.requireMerchant, preHandler: idem.preHandler, onSend: idem.onSend, ... }, handler);
 *
 * A request without the header is simply not deduplicated (the key is optional).
 */

// eslint-disable-next-line @typescript-eslint/no-explicit-any
type Executor = Kysely<any>;

export const IDEMPOTENCY_HEADER = 'idempotency-key';
export const REPLAYED_HEADER = 'idempotent-replayed';

/** 1-255 printable ASCII characters: UUIDs, ULIDs and order numbers all fit. */
const KEY_FORMAT = /^[\x21-\x7e]{1,255}$/;

export interface IdempotencyOptions {
  leaseMs: number;
  retentionMs: number;
}

export interface IdempotencyClaim {
  scope: string;
  key: string;
  /** Identifies this claim: a taken-over claim's first holder can no longer store or release it. */
  token: string;
  /**
   * Set when this claim took the key over from a holder whose lease ran out
   * (its process died or hung): when that holder first claimed it. Its work may
   * have committed; a route can find it by this time.
   */
  firstClaimedAt?: Date;
}

export interface StoredResponse {
  statusCode: number;
  contentType: string | null;
  body: string;
}

export type ClaimOutcome =
  | { outcome: 'claimed'; claim: IdempotencyClaim }
  | { outcome: 'replay'; response: StoredResponse }
  | { outcome: 'in-flight' }
  | { outcome: 'reused' };

export type RouteHook = (request: FastifyRequest, reply: FastifyReply) => Promise<unknown>;
export type SendHook = (request: FastifyRequest, reply: FastifyReply, payload: unknown) => Promise<unknown>;

export interface IdempotentRoute {
  /** Put last in the route's preHandler list (after authentication). */
  preHandler: RouteHook;
  /** The route's onSend hook: stores the answer under the claimed key. */
  onSend: SendHook;
}

declare module 'fastify' {
  interface FastifyRequest {
    /** The Idempotency-Key this request holds while it runs; null when it sent none. */
    idempotencyClaim: IdempotencyClaim | null;
  }
  interface FastifyInstance {
    /** Hooks that give a POST route Idempotency-Key semantics, keys scoped by `scopeOf(request)`. */
    idempotent(scopeOf: (request: FastifyRequest) => string): IdempotentRoute;
  }
}

const m001: Migration = {
  async up(db: Kysely<unknown>) {
    await sql`
      create table idempotency_keys (
        scope text not null,
        key text not null,
        fingerprint text not null,
        state text not null check (state in ('IN_FLIGHT', 'DONE')),
        claim_token text,
        locked_until timestamptz,
        status_code int4,
        content_type text,
        response_body text,
        created_at timestamptz not null,
        completed_at timestamptz,
        primary key (scope, key),
        check ((state = 'DONE') = (status_code is not null and response_body is not null and completed_at is not null)),
        check (state = 'DONE' or (claim_token is not null and locked_until is not null))
      )`.execute(db);
    await sql`create index idempotency_keys_created on idempotency_keys (created_at)`.execute(db);
  },
  async down(db: Kysely<unknown>) {
    await sql`drop table idempotency_keys`.execute(db);
  },
};

export const idempotencyMigrations: Record<string, Migration> = {
  '2026_11_22_0400_idempotency': m001,
};

/** sha256 over method, path with query and the body bytes: "the same request" means these three match. */
export function requestFingerprint(method: string, url: string, body: Buffer | string): string {
  return createHash('sha256').update(`${method.toUpperCase()}\n${url}\n`).update(body).digest('hex');
}

interface Row {
  fingerprint: string;
  createdAt: Date;
  state: 'IN_FLIGHT' | 'DONE';
  lockedUntil: Date | null;
  statusCode: number | null;
  contentType: string | null;
  responseBody: string | null;
}

/** The SQL side, usable without HTTP (tests, other transports). */
export class IdempotencyStore {
  readonly options: IdempotencyOptions;

  constructor(
    private readonly db: Executor,
    private readonly clock: Clock,
    options: Partial<IdempotencyOptions> = {},
  ) {
    this.options = { leaseMs: 60_000, retentionMs: 24 * 60 * 60 * 1000, ...options };
  }

  async claim(scope: string, key: string, fingerprint: string, attempt = 0): Promise<ClaimOutcome> {
    const now = this.clock.now();
    const lockedUntil = new Date(now.getTime() + this.options.leaseMs);
    const token = randomBytes(12).toString('base64url');
    const inserted = await sql<{ key: string }>`
      insert into idempotency_keys (scope, key, fingerprint, state, claim_token, locked_until, created_at)
      values (${scope}, ${key}, ${fingerprint}, 'IN_FLIGHT', ${token}, ${lockedUntil}, ${now})
      on conflict (scope, key) do nothing
      returning key`.execute(this.db);
    if (inserted.rows.length === 1) return { outcome: 'claimed', claim: { scope, key, token } };

    const { rows } = await sql<Row>`
      select fingerprint, state, created_at as "createdAt", locked_until as "lockedUntil", status_code as "statusCode",
        content_type as "contentType", response_body as "responseBody"
      from idempotency_keys where scope = ${scope} and key = ${key}`.execute(this.db);
    const row = rows[0];
    // Released (a 5xx) or purged between the insert and the read: try once more from the start.
    if (!row) return attempt === 0 ? this.claim(scope, key, fingerprint, 1) : { outcome: 'in-flight' };
    if (row.fingerprint !== fingerprint) return { outcome: 'reused' };
    if (row.state === 'DONE') {
      return { outcome: 'replay', response: { statusCode: row.statusCode!, contentType: row.contentType, body: row.responseBody! } };
    }
    if (row.lockedUntil! > now) return { outcome: 'in-flight' };
    // The holder's lease ran out (its process died or hangs): take the claim over, if nobody else did first.
    const taken = await sql<{ key: string }>`
      update idempotency_keys set claim_token = ${token}, locked_until = ${lockedUntil}
      where scope = ${scope} and key = ${key} and state = 'IN_FLIGHT' and locked_until <= ${now}
      returning key`.execute(this.db);
    return taken.rows.length === 1 ? { outcome: 'claimed', claim: { scope, key, token, firstClaimedAt: row.createdAt } } : { outcome: 'in-flight' };
  }

  /** Stores the answer; false when the claim was taken over meanwhile (the newer holder's answer wins). */
  async complete(claim: IdempotencyClaim, response: StoredResponse): Promise<boolean> {
    const { rows } = await sql<{ key: string }>`
      update idempotency_keys set state = 'DONE', status_code = ${response.statusCode},
        content_type = ${response.contentType}, response_body = ${response.body},
        completed_at = ${this.clock.now()}, claim_token = null, locked_until = null
      where scope = ${claim.scope} and key = ${claim.key} and state = 'IN_FLIGHT' and claim_token = ${claim.token}
      returning key`.execute(this.db);
    return rows.length === 1;
  }

  /** Gives the key back (the route failed with a 5xx): the next request with it runs afresh. */
  async release(claim: IdempotencyClaim): Promise<void> {
    await sql`
      delete from idempotency_keys
      where scope = ${claim.scope} and key = ${claim.key} and state = 'IN_FLIGHT' and claim_token = ${claim.token}`.execute(this.db);
  }

  /** Deletes answers (and abandoned claims) older than the retention. Returns how many. */
  async purge(): Promise<number> {
    const before = new Date(this.clock.now().getTime() - this.options.retentionMs);
    const result = await sql`delete from idempotency_keys where created_at < ${before}`.execute(this.db);
    return Number(result.numAffectedRows ?? 0n);
  }

  /** The route hooks for one scope function. */
  route(scopeOf: (request: FastifyRequest) => string): IdempotentRoute {
    const store = this;
    return {
      async preHandler(request, reply) {
        const header = request.headers[IDEMPOTENCY_HEADER];
        if (header === undefined) return;
        if (typeof header !== 'string' || !KEY_FORMAT.test(header)) {
          throw new DomainError('VALIDATION_FAILED', 'Idempotency-Key must be 1-255 printable ASCII characters, sent once', {
            errors: [{ path: '/headers/idempotency-key', message: 'must be 1-255 printable ASCII characters' }],
          });
        }
        const body = request.rawBody ?? (request.body === undefined ? '' : JSON.stringify(request.body));
        const outcome = await store.claim(scopeOf(request), header, requestFingerprint(request.method, request.url, body));
        switch (outcome.outcome) {
          case 'claimed':
            request.idempotencyClaim = outcome.claim;
            return;
          case 'reused':
            throw new DomainError('IDEMPOTENCY_KEY_REUSED', 'This Idempotency-Key was used with another request (method, path or body); use a new key for a new request');
          case 'in-flight':
            reply.header('retry-after', '1');
            throw new DomainError('IDEMPOTENCY_KEY_IN_USE', 'A request with this Idempotency-Key is still being processed; retry shortly');
          case 'replay': {
            const { response } = outcome;
            reply.header(REPLAYED_HEADER, 'true');
            if (response.contentType) reply.header('content-type', response.contentType);
            // Returning the reply tells Fastify the hook answered: the route handler does not run.
            return reply.code(response.statusCode).send(response.body);
          }
        }
      },
      async onSend(request, reply, payload) {
        const claim = request.idempotencyClaim;
        if (!claim) return payload;
        request.idempotencyClaim = null;
        // An empty answer (204) is stored as an empty body.
        const body = payload === null || payload === undefined ? '' : payload;
        if (reply.statusCode >= 500 || typeof body !== 'string') {
          // A failure on our side is not an answer worth repeating; nor is a stream we cannot keep.
          await store.release(claim).catch((err: unknown) => request.log.error({ err }, 'could not release an idempotency claim'));
          return payload;
        }
        const contentType = reply.getHeader('content-type');
        await store.complete(claim, {
          statusCode: reply.statusCode,
          contentType: typeof contentType === 'string' ? contentType : null,
          body,
        });
        return payload;
      },
    };
  }
}

/** The replay scope of an admin route: the admin credential or operator that sent the request. */
export function adminIdempotencyScope(request: FastifyRequest): string {
  if (!request.admin) throw new DomainError('UNAUTHORIZED', 'Send an admin credential');
  return `admin:${request.admin.kind}:${request.admin.id}`;
}

/** Root-level plugin: decorates `request.idempotencyClaim` and `app.idempotent(scopeOf)` for every module. */
export function idempotencyPlugin(store: IdempotencyStore): HttpModule {
  return {
    name: 'idempotency',
    register(app) {
      app.decorateRequest('idempotencyClaim', null);
      app.decorate('idempotent', (scopeOf: (request: FastifyRequest) => string) => store.route(scopeOf));
    },
  };
}
