import { Money, PostForm, StatusBadge, Time } from '../components.tsx';
import { walletsOf, type WebContext } from '../context.tsx';
import type { UiPage, UiRecord } from '../ports.ts';
import { currentSession } from '../session.ts';
import { NextPageLink, pageQuery } from './paging.tsx';

/** A withdrawal a reviewer approved (READY) goes on to the bank from here. */
function ContinueToBank(props: { record: UiRecord; csrf: string }) {
  return (
    <PostForm action={`/ui/withdraw/${props.record.id}/continue`} csrf={props.csrf} boost={false}>
      <input type="hidden" name="amount" value={props.record.amount} />
      <button type="submit">Continue to your bank</button>
    </PostForm>
  );
}

function RecordTable(props: { kind: string; page: UiPage<UiRecord>; param: string; csrf: string }) {
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
              <td>{record.requestNo}</td>
              <td><Time iso={record.createdAt} /></td>
              <td class="num"><Money amount={record.amount} currency={record.currency} /></td>
              <td>
                <StatusBadge status={record.status} />
                {record.detail ? <span class="muted"> {record.detail}</span> : null}
                {record.status === 'READY' ? <ContinueToBank record={record} csrf={props.csrf} /> : null}
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
    const csrf = ctx.csrf(request, reply);
    return ctx.render(request, reply, {
      title: 'Records',
      current: '/ui/records',
      children: (
        <>
          <section class="card">
            <h2>Recharges</h2>
            <RecordTable kind="Recharge" page={recharges} param="rechargesAfter" csrf={csrf} />
          </section>
          <section class="card">
            <h2>Withdrawals</h2>
            <RecordTable kind="Withdrawal" page={withdrawals} param="withdrawalsAfter" csrf={csrf} />
          </section>
        </>
      ),
    });
  });
}
