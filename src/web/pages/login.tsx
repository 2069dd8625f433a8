import { Field, PostForm } from '../components.tsx';
import { formErrorsFrom, formField, queryField, type FormErrors, type WebContext } from '../context.tsx';
import { redirectTo } from '../render.ts';
import { optionalUiUser, safeNext, setSessionCookie, uiState } from '../session.ts';

function LoginForm(props: { csrf: string; mobile?: string; next?: string | undefined; errors?: FormErrors | undefined }) {
  return (
    <div class="card">
      <PostForm action="/ui/login" csrf={props.csrf}>
        {props.next ? <input type="hidden" name="next" value={props.next} /> : null}
        <Field name="mobile" label="Mobile number" type="tel" inputmode="tel" autocomplete="username" value={props.mobile} error={props.errors?.fields.mobile} />
        <Field name="password" label="Login password" type="password" autocomplete="current-password" error={props.errors?.fields.password} />
        <button type="submit">Log in</button>
      </PostForm>
      <p>
        New to Coffer? <a href="/ui/register">Create an account</a>
      </p>
    </div>
  );
}

/**
 * GET/POST /ui/login. A successful login sets the `coffer_session` cookie and
 * goes on to `next` (a /ui/ path) or the wallet; the new session also changes
 * this browser's CSRF tokens, so a form rendered before login cannot be replayed.
 */
export function loginPage(ctx: WebContext): void {
  ctx.app.get('/ui/login', async (request, reply) => {
    const next = safeNext(queryField(request.query, 'next'));
    if (await optionalUiUser(request, ctx.ports)) return redirectTo(reply, next ?? '/ui/wallet');
    return ctx.render(request, reply, {
      title: 'Log in',
      children: <LoginForm csrf={ctx.csrf(request, reply)} next={next} />,
    });
  });

  ctx.app.post('/ui/login', async (request, reply) => {
    const mobile = formField(request.body, 'mobile').trim();
    const password = formField(request.body, 'password');
    const next = safeNext(formField(request.body, 'next'));
    let session;
    try {
      session = await ctx.ports.users.login(mobile, password);
    } catch (error) {
      const errors = formErrorsFrom(error);
      return ctx.render(request, reply, {
        status: errors.status,
        title: 'Log in',
        error: errors.message,
        children: <LoginForm csrf={ctx.csrf(request, reply)} mobile={mobile} next={next} errors={errors} />,
      });
    }
    setSessionCookie(reply, session, ctx.cookies);
    uiState(request).sessionToken = session.token;
    return redirectTo(reply, next ?? '/ui/wallet');
  });
}
