import { EntriesTable } from '../components.tsx';
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
      children: (
        <>
          <EntriesTable entries={page.data} empty="No entries yet. Recharge your wallet to get started." />
          <NextPageLink path="/ui/bill" hasMore={page.hasMore} lastId={page.data.at(-1)?.id} />
        </>
      ),
    });
  });
}
