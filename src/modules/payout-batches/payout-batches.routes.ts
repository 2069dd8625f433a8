import { Readable } from 'node:stream';
import type { FastifyRequest } from 'fastify';
import { DomainError } from '../../platform/errors.ts';
import { ProblemSchema } from '../../platform/http/problem.ts';
import { keepRawBody, rawBodyOf } from '../../platform/http/raw-body.ts';
import type { HttpModule } from '../../platform/http/server.ts';
import { currentMerchant, merchantScope, merchantSecurity } from '../merchants/index.ts';
import * as s from './payout-batches.schemas.ts';
import { batchView, type PayoutBatchesService } from './payout-batches.service.ts';
import type { BatchActor } from './payout-batches.types.ts';

/** The largest batch file accepted (100,000 rows of ~100 bytes fit with room to spare). */
export const BATCH_BODY_LIMIT_BYTES = 20 * 1024 * 1024;
/** The raw body is handed to the CSV parser in slices of this size (it parses as it goes). */
const SLICE_BYTES = 64 * 1024;

const problems = { 400: ProblemSchema, 401: ProblemSchema, 403: ProblemSchema, 404: ProblemSchema, 409: ProblemSchema, 413: ProblemSchema, 415: ProblemSchema };

async function* slices(body: Buffer): AsyncGenerator<Buffer> {
  for (let at = 0; at < body.length; at += SLICE_BYTES) yield body.subarray(at, at + SLICE_BYTES);
}

function apiKeyOf(request: FastifyRequest): BatchActor {
  return { kind: 'apiKey', id: currentMerchant(request).keyId };
}

/** Approving and rejecting take a key with the checker role (the maker-checker rule's first half). */
function checkerKeyOf(request: FastifyRequest): BatchActor {
  const merchant = currentMerchant(request);
  if (merchant.role !== 'checker') {
    throw new DomainError('PAYOUT_BATCH_CHECKER_REQUIRED', `Sign with a key whose role is checker; this key is a ${merchant.role}`);
  }
  return { kind: 'apiKey', id: merchant.keyId };
}

/** The merchant batch payout API (SPEC 5, signed). */
export function payoutBatchesHttpModule(batches: PayoutBatchesService): HttpModule {
  return {
    name: 'payout-batches',
    register(app) {
      // text/csv bodies reach both the signature check (request.rawBody) and the parser.
      keepRawBody(app);
      const tags = ['merchant API'];
      const idem = app.idempotent(merchantScope);
      const signedPost = { preValidation: app.requireMerchant, preHandler: idem.preHandler, onSend: idem.onSend };

      app.post(
        '/v1/payout-batches',
        {
          ...signedPost,
          bodyLimit: BATCH_BODY_LIMIT_BYTES,
          schema: {
            tags,
            security: merchantSecurity,
            summary: 'Upload a batch file (text/csv): validated whole, it waits for a checker’s approval',
            description:
              'Any bad line: 422 PAYOUT_BATCH_INVALID with `errors: [{line, reason, code}]` for every bad line, and nothing is created. ' +
              `At most ${batches.options.maxRows} rows (413 PAYOUT_BATCH_TOO_LARGE) and 20 MB (413 PAYOUT_TOO_LARGE). One currency per batch. Accepts an \`Idempotency-Key\` header.`,
            consumes: ['text/csv'],
            body: s.CsvBody,
            response: { 201: s.BatchView, ...problems, 422: s.InvalidFileProblem },
          },
        },
        async (request, reply) => {
          const batch = await batches.create(currentMerchant(request).merchantId, slices(rawBodyOf(request)), apiKeyOf(request), request.idempotencyClaim?.key);
          return reply.code(201).send(batchView(batch));
        },
      );

      app.post(
        '/v1/payout-batches/:id/approve',
        {
          ...signedPost,
          schema: {
            tags,
            security: merchantSecurity,
            summary: 'Approve a batch (a checker key, never the one that created it): its rows are paid out',
            description: 'Approving again with the same key answers the batch as it is; otherwise a batch not AWAITING_APPROVAL is 409.',
            params: s.BatchParams,
            response: { 200: s.BatchView, ...problems, 422: ProblemSchema },
          },
        },
        async (request) => batchView(await batches.approve(currentMerchant(request).merchantId, request.params.id, checkerKeyOf(request))),
      );

      app.post(
        '/v1/payout-batches/:id/reject',
        {
          ...signedPost,
          schema: {
            tags,
            security: merchantSecurity,
            summary: 'Reject a batch (a checker key, never the one that created it): every row is cancelled, no money moves',
            description: 'An optional JSON body `{"reason"}` (at most 256 characters) is kept on the batch.',
            params: s.BatchParams,
            response: { 200: s.BatchView, ...problems, 422: ProblemSchema },
          },
        },
        async (request) => {
          // The body is optional (a reject may send none), so it is read here rather than by a body schema.
          const reason = (request.body as { reason?: unknown } | undefined)?.reason;
          if (reason !== undefined && typeof reason !== 'string') throw new DomainError('VALIDATION_FAILED', 'reason must be a string');
          return batchView(await batches.reject(currentMerchant(request).merchantId, request.params.id, checkerKeyOf(request), reason));
        },
      );

      app.get(
        '/v1/payout-batches/:id',
        {
          preHandler: app.requireMerchant,
          schema: { tags, security: merchantSecurity, summary: 'One of your batches: status, who created and decided it, rows and sums per status', params: s.BatchParams, response: { 200: s.BatchView, ...problems } },
        },
        async (request) => batchView(await batches.get(currentMerchant(request).merchantId, request.params.id)),
      );

      app.get(
        '/v1/payout-batches',
        {
          preHandler: app.requireMerchant,
          schema: {
            tags,
            security: merchantSecurity,
            summary: 'Your batches, newest first: filter by status; cursor paging with startingAfter',
            querystring: s.ListQuery,
            response: { 200: s.BatchPage, ...problems },
          },
        },
        async (request) => {
          const page = await batches.list(currentMerchant(request).merchantId, request.query);
          return { data: page.data.map(batchView), hasMore: page.hasMore };
        },
      );

      app.get(
        '/v1/payout-batches/:id/results',
        {
          preHandler: app.requireMerchant,
          schema: {
            tags,
            security: merchantSecurity,
            summary: 'The per-row results file (text/csv): each input row with its line, payout id, status, fee and error',
            params: s.BatchParams,
            description: 'Columns: the input row, then line, payoutId, status, fee, errorCode, errorMessage. Another merchant’s batch is 404 PAYOUT_BATCH_NOT_FOUND.',
            produces: ['text/csv'],
          },
        },
        async (request, reply) => {
          const rows = await batches.resultsCsv(currentMerchant(request).merchantId, request.params.id);
          return reply
            .type('text/csv; charset=utf-8')
            .header('content-disposition', `attachment; filename="${request.params.id}-results.csv"`)
            .send(Readable.from(rows));
        },
      );
    },
  };
}
