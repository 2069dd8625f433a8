import type { WebContext } from '../context.tsx';
import { redirectTo } from '../render.ts';
import { optionalUiUser } from '../session.ts';

/** `/` and `/ui/`: the wallet for a logged-in user, the login page for anyone else. */
export function homePage(ctx: WebContext): void {
  ctx.app.get('/', async (_request, reply) => redirectTo(reply, '/ui/'));
  ctx.app.get('/ui', async (_request, reply) => redirectTo(reply, '/ui/'));
  ctx.app.get('/ui/', async (request, reply) => {
    const user = await optionalUiUser(request, ctx.ports);
    return redirectTo(reply, user ? '/ui/wallet' : '/ui/login');
  });
}
