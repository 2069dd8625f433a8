import type { WebContext } from '../context.tsx';
import { redirectTo } from '../render.ts';
import { optionalUiOperator, optionalUiUser } from '../session.ts';
import { operatorHome } from './operator/login.tsx';

/** `/` and `/ui/`: the wallet for a logged-in user, an operator's area for an operator, the login page for anyone else. */
export function homePage(ctx: WebContext): void {
  ctx.app.get('/', async (_request, reply) => redirectTo(reply, '/ui/'));
  ctx.app.get('/ui', async (_request, reply) => redirectTo(reply, '/ui/'));
  ctx.app.get('/ui/', async (request, reply) => {
    if (await optionalUiUser(request, ctx.ports)) return redirectTo(reply, '/ui/wallet');
    const operator = await optionalUiOperator(request, ctx.ports);
    return redirectTo(reply, operator ? operatorHome(operator) : '/ui/login');
  });
}
