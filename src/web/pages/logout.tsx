import { PostForm } from '../components.tsx';
import type { WebContext } from '../context.tsx';
import { newCsrfSecret } from '../csrf.ts';
import { redirectTo } from '../render.ts';
import { clearSessionCookie, optionalUiUser, setCsrfCookie, uiState } from '../session.ts';

/**
 * GET /ui/logout asks; POST /ui/logout (also the button in every page's header)
 * revokes the session, clears the cookie and gives the browser a new CSRF secret.
 * Logging out is a POST so another site cannot log a user out with a link.
 */
export function logoutPage(ctx: WebContext): void {
  ctx.app.get('/ui/logout', async (request, reply) => {
    if (!(await optionalUiUser(request, ctx.ports))) return redirectTo(reply, '/ui/login');
    return ctx.render(request, reply, {
      title: 'Log out',
      children: (
        <div class="card">
          <p>Log out of Coffer on this browser?</p>
          <PostForm action="/ui/logout" csrf={ctx.csrf(request, reply)}>
            <button type="submit">Log out</button>
          </PostForm>
        </div>
      ),
    });
  });

  ctx.app.post('/ui/logout', async (request, reply) => {
    const state = uiState(request);
    if (state.sessionToken) await ctx.ports.users.logout(state.sessionToken);
    clearSessionCookie(reply, ctx.cookies);
    setCsrfCookie(reply, newCsrfSecret(), ctx.cookies);
    return redirectTo(reply, '/ui/login?notice=logged-out');
  });
}
