import { Money, Time, StatusBadge } from '../components.tsx';
import { walletsOf, type WebContext } from '../context.tsx';
import type { UiPage, UiRecord } from '../ports.ts';
import { currentSession } from '../session.ts';
import { NextPageLink, pageQuery } from './paging.tsx';

function RecordTable(props: { kind: string; page: UiPage<UiRecord>; param: string }) {
  if (props.page.data.length === 0) return <p class="muted">No {props.kind.toLowerCase()}s yet.</p>;
  return (
    <>
      <table data-testid={`${props.kind.toLowerCase()}-records`}>
        <thead>
          <tr>
            <th>Request</th>
            <th>Time</th>
            <th class="num">Amount</th>
            <th>Status</th>
          </tr>
        </thead>
        <tbody>
          {props.page.data.map((record) => (
            <tr>
              <td>{record.id}</td>
              <td><Time iso={record.createdAt} /></td>
              <td class="num"><Money amount={record.amount} currency={record.currency} /></td>
              <td>
                <StatusBadge status={record.status} />
                {record.detail ? <span class="muted"> {record.detail}</span> : null}
              </td>
            </tr>
          ))}
        </tbody>
      </table>
      <NextPageLink path="/ui/records" param={props.param} hasMore={props.page.hasMore} lastId={props.page.data.at(-1)?.id} />
    </>
  );
}

/**
 * /ui/records: recharges and withdrawals with their status. The bank sends the
 * browser back here; a record stays PENDING until the bank's notification lands.
 */
export function recordsPage(ctx: WebContext): void {
  ctx.app.get('/ui/records', { preHandler: ctx.requireUiUser }, async (request, reply) => {
    const wallets = walletsOf(ctx);
    const session = currentSession(request);
    const [recharges, withdrawals] = await Promise.all([
      wallets.rechargeRecords(session, pageQuery(request, 'rechargesAfter')),
      wallets.withdrawRecords(session, pageQuery(request, 'withdrawalsAfter')),
    ]);
    return ctx.render(request, reply, {
      title: 'Records',
      current: '/ui/records',
      children: (
        <>
          <section class="card">
            <h2>Recharges</h2>
            <RecordTable kind="Recharge" page={recharges} param="rechargesAfter" />
          </section>
          <section class="card">
            <h2>Withdrawals</h2>
            <RecordTable kind="Withdrawal" page={withdrawals} param="withdrawalsAfter" />
          </section>
        </>
      ),
    });
  });
}
