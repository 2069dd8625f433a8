import { Money, Time } from '../components.tsx';
import { walletsOf, type WebContext } from '../context.tsx';
import { currentSession } from '../session.ts';
import { NextPageLink, pageQuery } from './paging.tsx';

/** /ui/bill: the wallet's entries, newest first (SPEC 2), a page at a time. */
export function billPage(ctx: WebContext): void {
  ctx.app.get('/ui/bill', { preHandler: ctx.requireUiUser }, async (request, reply) => {
    const page = await walletsOf(ctx).entries(currentSession(request), pageQuery(request));
    return ctx.render(request, reply, {
      title: 'Bill',
      current: '/ui/bill',
      children:
        page.data.length === 0 ? (
          <p class="card muted">No entries yet. Recharge your wallet to get started.</p>
        ) : (
          <>
            <table data-testid="entries">
              <thead>
                <tr>
                  <th>Time</th>
                  <th>What</th>
                  <th class="num">Amount</th>
                  <th class="num">Balance after</th>
                </tr>
              </thead>
              <tbody>
                {page.data.map((entry) => (
                  <tr>
                    <td><Time iso={entry.createdAt} /></td>
                    <td>{entry.code}</td>
                    <td class="num">
                      {entry.direction === 'DEBIT' ? '-' : '+'}
                      <Money amount={entry.amount} currency={entry.currency} />
                    </td>
                    <td class="num">{entry.balanceAfter ? <Money amount={entry.balanceAfter} /> : null}</td>
                  </tr>
                ))}
              </tbody>
            </table>
            <NextPageLink path="/ui/bill" hasMore={page.hasMore} lastId={page.data.at(-1)?.id} />
          </>
        ),
    });
  });
}
