import { SHA256_HEADER, STATE_HEADER } from '../../../modules/reconciliation/index.ts';
import { DomainError } from '../../../platform/errors.ts';
import { StatusBadge } from '../../components.tsx';
import { portOf, type WebContext } from '../../context.tsx';
import { currentMerchantId } from '../../session.ts';

const DATE = /^\d{4}-\d{2}-\d{2}$/;

/**
 * /ui/portal/reconciliation: the merchant's reconciliation files by day (SPEC 5:
 * the same CSV as `GET /v1/reconciliation/{date}`), each downloadable from
 * /ui/portal/reconciliation/{date}.csv. A day not yet closed may still change.
 */
export function portalReconciliationPages(ctx: WebContext): void {
  const read = { preHandler: ctx.requirePortalOperator() };

  ctx.app.get('/ui/portal/reconciliation', read, async (request, reply) => {
    const reconciliation = portOf(ctx, 'reconciliation', 'Reconciliation files');
    const days = await reconciliation.days(currentMerchantId(request), { limit: 60 });
    return ctx.render(request, reply, {
      title: 'Reconciliation files',
      current: '/ui/portal/reconciliation',
      children:
        days.length === 0 ? (
          <p class="card muted">No reconciliation files yet: a day with final payouts has one.</p>
        ) : (
          <table data-testid="reconciliation-days">
            <thead>
              <tr>
                <th>Day (UTC)</th>
                <th class="num">Lines</th>
                <th>State</th>
                <th></th>
              </tr>
            </thead>
            <tbody>
              {days.map((day) => (
                <tr>
                  <td>{day.date}</td>
                  <td class="num">{day.lines}</td>
                  <td>{day.closed ? <StatusBadge status="CLOSED" /> : <StatusBadge status="OPEN" />}</td>
                  <td>
                    <a href={`/ui/portal/reconciliation/${day.date}.csv`} download={`reconciliation-${day.date}.csv`} hx-boost="false">
                      Download CSV
                    </a>
                  </td>
                </tr>
              ))}
            </tbody>
          </table>
        ),
    });
  });

  ctx.app.get('/ui/portal/reconciliation/:file', read, async (request, reply) => {
    const reconciliation = portOf(ctx, 'reconciliation', 'Reconciliation files');
    const date = (request.params as { file: string }).file.replace(/\.csv$/, '');
    if (!DATE.test(date)) throw new DomainError('NOT_FOUND', 'There is no such file.');
    const file = await reconciliation.file(currentMerchantId(request), date);
    // The same headers as GET /v1/reconciliation/{date}: provisional or closed, and a closed file's SHA-256.
    reply.header(STATE_HEADER, file.closed ? 'closed' : 'provisional');
    if (file.sha256) reply.header(SHA256_HEADER, file.sha256);
    return reply
      .header('content-type', 'text/csv; charset=utf-8')
      .header('content-disposition', `attachment; filename="reconciliation-${date}.csv"`)
      .header('cache-control', 'no-store')
      .send(file.csv);
  });
}
