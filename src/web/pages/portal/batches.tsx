import type { FastifyReply, FastifyRequest } from 'fastify';
import { Readable } from 'node:stream';
import { failureFrom } from '../../../platform/http/problem.ts';
import { ActionButton, Field, Money, FilterForm, PostForm, StatusBadge, Time } from '../../components.tsx';
import { formErrorsFrom, formField, portOf, queryField, type WebContext } from '../../context.tsx';
import { isUploadedFile } from '../../multipart.ts';
import type { UiBatch, UiOperator } from '../../ports.ts';
import { redirectTo } from '../../render.ts';
import { currentMerchantId, currentOperator } from '../../session.ts';
import { NextPageLink, pageQuery } from '../paging.tsx';

const STATUSES = ['AWAITING_APPROVAL', 'APPROVED', 'PROCESSING', 'PROCESSED', 'REJECTED'];
const CSV_HEADER = 'merchantOrderNo,amount,currency,name,accountNo,bankCode,remark';

interface LineError {
  line: number;
  reason: string;
}

/** The per-line errors a refused file carries (`errors: [{line, reason}]`), in line order. */
function lineErrorsOf(error: unknown): LineError[] {
  const listed = (failureFrom(error).extra as { errors?: unknown } | undefined)?.errors;
  if (!Array.isArray(listed)) return [];
  return listed
    .filter((e): e is LineError => typeof (e as LineError)?.line === 'number' && typeof (e as LineError)?.reason === 'string')
    .sort((a, b) => a.line - b.line);
}

/** `operator:<id>` is how a batch names an operator who made or decided it. */
const operatorRef = (operator: UiOperator) => `operator:${operator.id}`;

/** Only a checker, and never the one who made the batch (SPEC 5: maker and checker are different people). */
function mayDecide(operator: UiOperator, batch: UiBatch): boolean {
  return operator.role === 'checker' && batch.createdBy !== operatorRef(operator) && batch.status === 'AWAITING_APPROVAL';
}

function UploadForm(props: { csrf: string; csv?: string | undefined }) {
  return (
    <div class="card">
      <h2>Upload a batch</h2>
      <p class="muted">
        A CSV file with the header <code>{CSV_HEADER}</code>. The whole file is checked first: one bad line and nothing is made. A valid batch waits for a checker's
        approval.
      </p>
      <PostForm action="/ui/portal/batches" csrf={props.csrf} enctype="multipart/form-data" boost={false}>
        <div class="field">
          <label for="field-file">CSV file</label>
          <input id="field-file" type="file" name="file" accept=".csv,text/csv" />
        </div>
        <div class="field wide">
          <label for="field-csv">or paste the CSV</label>
          <textarea id="field-csv" name="csv" rows={6}>
            {props.csv ?? ''}
          </textarea>
        </div>
        <button type="submit">Upload batch</button>
      </PostForm>
    </div>
  );
}

function StatusTable(props: { batch: UiBatch }) {
  return (
    <table data-testid="batch-counts">
      <thead>
        <tr>
          <th>Status</th>
          <th class="num">Payouts</th>
          <th class="num">Amount</th>
          <th class="num">Fees</th>
        </tr>
      </thead>
      <tbody>
        {props.batch.byStatus.map((line) => (
          <tr data-status={line.status}>
            <td>
              <StatusBadge status={line.status} />
            </td>
            <td class="num">{line.count}</td>
            <td class="num">
              <Money amount={line.amount} currency={props.batch.currency} />
            </td>
            <td class="num">{line.fee !== undefined ? <Money amount={line.fee} currency={props.batch.currency} /> : null}</td>
          </tr>
        ))}
        <tr>
          <th>Total</th>
          <th class="num">{props.batch.count}</th>
          <th class="num">
            <Money amount={props.batch.totalAmount} currency={props.batch.currency} />
          </th>
          <th></th>
        </tr>
      </tbody>
    </table>
  );
}

/**
 * The portal's batch payouts (SPEC 5): upload (makers) -> the whole file
 * checked, errors per line -> the batch awaiting approval -> approve or reject
 * (checkers, never the batch's creator) -> its payouts run -> counts and sums
 * per status, and the per-row results CSV to download. Everything goes
 * through the payout-batches module (the `batches` port), which enforces the
 * same rules again: the page only hides what the service would refuse.
 */
export function portalBatchesPages(ctx: WebContext): void {
  const read = { preHandler: ctx.requirePortalOperator() };
  const maker = { preHandler: ctx.requirePortalOperator(['maker']) };
  const checker = { preHandler: ctx.requirePortalOperator(['checker']) };
  const batchesOf = () => portOf(ctx, 'batches', 'Batch payouts');
  const actor = (request: FastifyRequest) => ({ operatorId: currentOperator(request).id, requestId: request.id });

  async function listPage(request: FastifyRequest, reply: FastifyReply, failed?: { status: number; error: string; lines: LineError[]; csv: string }) {
    const operator = currentOperator(request);
    const asked = queryField(request.query, 'status');
    const status = asked && STATUSES.includes(asked) ? asked : undefined;
    const page = await batchesOf().list(currentMerchantId(request), { ...pageQuery(request), status });
    const csrf = ctx.csrf(request, reply);
    return ctx.render(request, reply, {
      status: failed?.status,
      error: failed?.error,
      title: 'Batch payouts',
      current: '/ui/portal/batches',
      children: (
        <>
          {failed && failed.lines.length > 0 ? (
            <div class="card">
              <h2>The file was not accepted: nothing was created</h2>
              <table data-testid="line-errors">
                <thead>
                  <tr>
                    <th class="num">Line</th>
                    <th>Problem</th>
                  </tr>
                </thead>
                <tbody>
                  {failed.lines.map((e) => (
                    <tr>
                      <td class="num">{e.line}</td>
                      <td>{e.reason}</td>
                    </tr>
                  ))}
                </tbody>
              </table>
            </div>
          ) : null}
          {operator.role === 'maker' ? <UploadForm csrf={csrf} csv={failed?.csv} /> : null}
          <FilterForm action="/ui/portal/batches" name="status" label="Status" options={STATUSES} value={status} />
          {page.data.length === 0 ? (
            <p class="card muted">No batches{status ? ` with status ${status}` : ''}.</p>
          ) : (
            <table data-testid="batches">
              <thead>
                <tr>
                  <th>Batch</th>
                  <th>Created</th>
                  <th class="num">Payouts</th>
                  <th class="num">Total</th>
                  <th>Status</th>
                </tr>
              </thead>
              <tbody>
                {page.data.map((b) => (
                  <tr>
                    <td>
                      <a href={`/ui/portal/batches/${encodeURIComponent(b.id)}`}>{b.id}</a>
                    </td>
                    <td>
                      <Time iso={b.createdAt} />
                    </td>
                    <td class="num">{b.count}</td>
                    <td class="num">
                      <Money amount={b.totalAmount} currency={b.currency} />
                    </td>
                    <td>
                      <StatusBadge status={b.status} />
                    </td>
                  </tr>
                ))}
              </tbody>
            </table>
          )}
          <NextPageLink path="/ui/portal/batches" hasMore={page.hasMore} lastId={page.data.at(-1)?.id} keep={{ status }} />
        </>
      ),
    });
  }

  ctx.app.get('/ui/portal/batches', read, (request, reply) => listPage(request, reply));

  ctx.app.post('/ui/portal/batches', maker, async (request, reply) => {
    const file = (request.body as Record<string, unknown> | null)?.file;
    const pasted = formField(request.body, 'csv');
    const csv = isUploadedFile(file) && file.content.length > 0 ? file.content.toString('utf8') : pasted;
    try {
      const batch = await batchesOf().create(currentMerchantId(request), csv, actor(request));
      return redirectTo(reply, `/ui/portal/batches/${encodeURIComponent(batch.id)}?notice=batch-created`);
    } catch (error) {
      const failure = formErrorsFrom(error);
      if (failure.status >= 500) throw error;
      return listPage(request, reply, { status: failure.status, error: failure.message, lines: lineErrorsOf(error), csv: pasted });
    }
  });

  async function detailPage(request: FastifyRequest, reply: FastifyReply, failed?: { status: number; error: string }) {
    const operator = currentOperator(request);
    const batch = await batchesOf().get(currentMerchantId(request), (request.params as { id: string }).id);
    const csrf = ctx.csrf(request, reply);
    const base = `/ui/portal/batches/${encodeURIComponent(batch.id)}`;
    const mine = batch.createdBy === operatorRef(operator);
    return ctx.render(request, reply, {
      status: failed?.status,
      error: failed?.error,
      title: `Batch ${batch.id}`,
      current: '/ui/portal/batches',
      children: (
        <>
          <div class="card">
            <p>
              <StatusBadge status={batch.status} /> <span data-testid="batch-status">{batch.status}</span>
            </p>
            <p class="muted">
              Created <Time iso={batch.createdAt} /> by {mine ? 'you' : (batch.createdBy ?? 'unknown')}
              {batch.decidedBy ? ` · decided by ${batch.decidedBy === operatorRef(operator) ? 'you' : batch.decidedBy}` : ''}
            </p>
            <StatusTable batch={batch} />
            <div class="actions">
              <a href={`${base}/results.csv`} download={`${batch.id}-results.csv`} hx-boost="false" class="button">
                Download results CSV
              </a>
            </div>
          </div>
          {batch.status === 'AWAITING_APPROVAL' ? (
            mayDecide(operator, batch) ? (
              <div class="card" data-testid="decide">
                <h2>Approve or reject</h2>
                <p>Approving pays every row; nothing has moved yet.</p>
                <div class="actions">
                  <ActionButton action={`${base}/approve`} csrf={csrf} label="Approve batch" />
                </div>
                <PostForm action={`${base}/reject`} csrf={csrf}>
                  <Field name="reason" label="Reason for rejecting (optional)" required={false} />
                  <button type="submit" class="danger">
                    Reject batch
                  </button>
                </PostForm>
              </div>
            ) : (
              <p class="card muted" data-testid="cannot-decide">
                {operator.role !== 'checker'
                  ? 'Waiting for a checker: only checkers approve or reject batches.'
                  : 'You made this batch: another checker must approve or reject it.'}
              </p>
            )
          ) : null}
        </>
      ),
    });
  }

  ctx.app.get('/ui/portal/batches/:id', read, (request, reply) => detailPage(request, reply));

  ctx.app.post('/ui/portal/batches/:id/approve', checker, async (request, reply) => {
    const id = (request.params as { id: string }).id;
    try {
      await batchesOf().approve(currentMerchantId(request), id, actor(request));
    } catch (error) {
      const failure = formErrorsFrom(error);
      if (failure.status >= 500) throw error;
      return detailPage(request, reply, { status: failure.status, error: failure.message });
    }
    return redirectTo(reply, `/ui/portal/batches/${encodeURIComponent(id)}?notice=batch-approved`);
  });

  ctx.app.post('/ui/portal/batches/:id/reject', checker, async (request, reply) => {
    const id = (request.params as { id: string }).id;
    const reason = formField(request.body, 'reason').trim();
    try {
      await batchesOf().reject(currentMerchantId(request), id, actor(request), reason || undefined);
    } catch (error) {
      const failure = formErrorsFrom(error);
      if (failure.status >= 500) throw error;
      return detailPage(request, reply, { status: failure.status, error: failure.message });
    }
    return redirectTo(reply, `/ui/portal/batches/${encodeURIComponent(id)}?notice=batch-rejected`);
  });

  ctx.app.get('/ui/portal/batches/:id/results.csv', read, async (request, reply) => {
    const id = (request.params as { id: string }).id;
    const csv = await batchesOf().resultsCsv(currentMerchantId(request), id);
    return reply
      .header('content-type', 'text/csv; charset=utf-8')
      .header('content-disposition', `attachment; filename="${id.replace(/[^A-Za-z0-9_-]/g, '')}-results.csv"`)
      .header('cache-control', 'no-store')
      .send(typeof csv === 'string' ? csv : Readable.from(csv));
  });
}
