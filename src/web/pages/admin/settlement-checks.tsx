import type { FastifyReply, FastifyRequest } from 'fastify';
import { breaksCsv, type Break, type Run } from '../../../modules/settlement-check/index.ts';
import { Field, IdempotencyField, PostForm, Time } from '../../components.tsx';
import { formErrorsFrom, formField, idempotencyHeader, type FormErrors, type WebContext } from '../../context.tsx';
import { redirectTo } from '../../render.ts';

/** A run as the admin API answers it (JSON: times as strings). */
type RunView = Pick<Run, 'date' | 'status' | 'items' | 'matched' | 'pending' | 'breaks' | 'runs' | 'error'> & { finishedAt: string | null };

type FindingView = Omit<Break, 'type'> & { type: string };

interface DayView {
  run: RunView;
  breaks: FindingView[];
  pending: FindingView[];
}

const DATE = /^\d{4}-\d{2}-\d{2}$/;

function RunBadge({ status }: { status: string }) {
  const tone = status === 'CLEAN' ? 'ok' : status === 'BROKEN' || status === 'ERROR' ? 'bad' : 'wait';
  return <span class={`badge badge-${tone}`}>{status}</span>;
}

function Findings({ rows, testid }: { rows: FindingView[]; testid: string }) {
  return (
    <table data-testid={testid}>
      <thead>
        <tr>
          <th>Type</th>
          <th>Kind</th>
          <th>Business id</th>
          <th>Ledger</th>
          <th>Coffer's records</th>
          <th>Bank</th>
          <th>Why</th>
        </tr>
      </thead>
      <tbody>
        {rows.map((f) => (
          <tr data-break={f.businessId}>
            <td>{f.type}</td>
            <td>{f.kind}</td>
            <td>{f.businessId}</td>
            <td class={f.odd === 'ledger' ? 'bad' : undefined}>{f.ledger}</td>
            <td class={f.odd === 'records' ? 'bad' : undefined}>{f.records}</td>
            <td class={f.odd === 'bank' ? 'bad' : undefined}>{f.bank}</td>
            <td class="small">{f.detail}</td>
          </tr>
        ))}
      </tbody>
    </table>
  );
}

/**
 * The three-way settlement check in the admin console, over the admin JSON
 * API: checked days with their counts and a form to check a day now; a day's
 * breaks and in-flight items, and its CSV.
 */
export function adminSettlementChecksPages(ctx: WebContext): void {
  const guard = { preHandler: ctx.requireAdminOperator };

  async function listPage(request: FastifyRequest, reply: FastifyReply, failed?: { errors: FormErrors; date: string }) {
    const runs = (await ctx.adminApi(request).get<{ data: RunView[] }>('/admin/settlement-checks')).data;
    const yesterday = new Date(Date.now() - 86_400_000).toISOString().slice(0, 10);
    return ctx.render(request, reply, {
      status: failed?.errors.status,
      error: failed?.errors.message,
      title: 'Settlement checks',
      current: '/ui/admin/settlement-checks',
      children: (
        <>
          <div class="card" data-testid="run-settlement-check">
            <h2>Check a day now</h2>
            <p class="muted">
              Ledger vs Coffer's records vs the bank's signed statement of one UTC day. The daily job checks yesterday by itself and again while items are in flight.
            </p>
            <PostForm action="/ui/admin/settlement-checks" csrf={ctx.csrf(request, reply)}>
              <IdempotencyField />
              <div class="row">
                <Field name="date" label="Day (yyyy-mm-dd, UTC)" value={failed?.date ?? yesterday} error={failed?.errors.fields?.date} />
              </div>
              <button type="submit">Run the check</button>
            </PostForm>
          </div>
          {runs.length === 0 ? (
            <p class="card muted">No day has been checked yet.</p>
          ) : (
            <table data-testid="settlement-runs">
              <thead>
                <tr>
                  <th>Day</th>
                  <th>Result</th>
                  <th class="num">Items</th>
                  <th class="num">Matched</th>
                  <th class="num">In flight</th>
                  <th class="num">Breaks</th>
                  <th class="num">Runs</th>
                  <th>Last run</th>
                </tr>
              </thead>
              <tbody>
                {runs.map((run) => (
                  <tr data-day={run.date}>
                    <td>
                      <a href={`/ui/admin/settlement-checks/${run.date}`}>{run.date}</a>
                    </td>
                    <td>
                      <RunBadge status={run.status} />
                    </td>
                    <td class="num">{run.items}</td>
                    <td class="num">{run.matched}</td>
                    <td class="num">{run.pending}</td>
                    <td class="num">{run.breaks}</td>
                    <td class="num">{run.runs}</td>
                    <td>
                      <Time iso={run.finishedAt} />
                    </td>
                  </tr>
                ))}
              </tbody>
            </table>
          )}
        </>
      ),
    });
  }

  ctx.app.get('/ui/admin/settlement-checks', guard, (request, reply) => listPage(request, reply));

  ctx.app.post('/ui/admin/settlement-checks', guard, async (request, reply) => {
    const date = formField(request.body, 'date').trim();
    try {
      await ctx.adminApi(request).send('POST', '/admin/settlement-checks', { date }, idempotencyHeader(request.body));
    } catch (error) {
      return listPage(request, reply, { errors: formErrorsFrom(error), date });
    }
    return redirectTo(reply, `/ui/admin/settlement-checks/${encodeURIComponent(date)}?notice=settlement-checked`);
  });

  ctx.app.get('/ui/admin/settlement-checks/:date', guard, async (request, reply) => {
    const param = (request.params as { date: string }).date;
    const csv = param.endsWith('.csv');
    const date = csv ? param.slice(0, -'.csv'.length) : param;
    if (!DATE.test(date)) return redirectTo(reply, '/ui/admin/settlement-checks');
    const day = await ctx.adminApi(request).get<DayView>(`/admin/settlement-checks/${date}`);
    if (csv) {
      return reply
        .type('text/csv; charset=utf-8')
        .header('content-disposition', `attachment; filename="settlement-check-${date}.csv"`)
        .header('cache-control', 'no-store')
        .send(breaksCsv(date, day.breaks as Break[]));
    }
    const { run } = day;
    return ctx.render(request, reply, {
      title: `Settlement check ${date}`,
      current: '/ui/admin/settlement-checks',
      children: (
        <>
          <p class="card" data-testid="settlement-day">
            <RunBadge status={run.status} /> {run.items} {run.items === 1 ? 'item' : 'items'}: {run.matched} matched, {run.pending} in flight, {run.breaks} breaks; checked {run.runs}{' '}
            {run.runs === 1 ? 'time' : 'times'}, last <Time iso={run.finishedAt} />. <a href={`/ui/admin/settlement-checks/${date}.csv`} download={`settlement-check-${date}.csv`} hx-boost="false" data-testid="settlement-csv">
              Breaks as CSV
            </a>
          </p>
          {run.error ? <p class="card bad">The last run failed: {run.error}</p> : null}
          <h2>Breaks</h2>
          {day.breaks.length === 0 ? <p class="card muted" data-testid="no-breaks">No breaks.</p> : <Findings rows={day.breaks} testid="settlement-breaks" />}
          {day.pending.length > 0 ? (
            <>
              <h2>In flight (checked again after the grace period)</h2>
              <Findings rows={day.pending} testid="settlement-pending" />
            </>
          ) : null}
          <p>
            <a href="/ui/admin/settlement-checks">All checked days</a>
          </p>
        </>
      ),
    });
  });
}
