import { Field, PostForm } from '../../components.tsx';
import { formErrorsFrom, formField, portOf, queryField, type FormErrors, type WebContext } from '../../context.tsx';
import { newCsrfSecret } from '../../csrf.ts';
import type { UiOperator } from '../../ports.ts';
import { redirectTo } from '../../render.ts';
import { clearOperatorCookie, optionalUiOperator, safeNext, setCsrfCookie, setOperatorCookie, uiState } from '../../session.ts';

/** Where an operator starts: the admin console, or their merchant's portal. */
export function operatorHome(operator: UiOperator): string {
  if (operator.role === 'admin') return '/ui/admin/merchants';
  return operator.merchantId ? '/ui/portal' : '/ui/operator/login?notice=no-operator-area';
}

function OperatorLoginForm(props: { csrf: string; username?: string; next?: string | undefined; errors?: FormErrors | undefined }) {
  return (
    <div class="card">
      <PostForm action="/ui/operator/login" csrf={props.csrf}>
        {props.next ? <input type="hidden" name="next" value={props.next} /> : null}
        <Field name="username" label="Username" autocomplete="username" value={props.username} error={props.errors?.fields.username} />
        <Field name="password" label="Password" type="password" autocomplete="current-password" error={props.errors?.fields.password} />
        <button type="submit">Log in as operator</button>
      </PostForm>
      <p class="muted">For the admin console and the merchant portal. Wallet users log in <a href="/ui/login">here</a>.</p>
    </div>
  );
}

/**
 * GET/POST /ui/operator/login and POST /ui/operator/logout. The operator's
 * session lives in its own cookie (`coffer_operator`), beside and apart from a
 * wallet user's; wrong passwords lock the login as the operators service says.
 * Logging in or out changes this browser's CSRF tokens (they are bound to the session).
 */
export function operatorLoginPage(ctx: WebContext): void {
  ctx.app.get('/ui/operator/login', async (request, reply) => {
    const next = safeNext(queryField(request.query, 'next'));
    const operator = await optionalUiOperator(request, ctx.ports);
    if (operator && queryField(request.query, 'notice') !== 'no-operator-area') return redirectTo(reply, next ?? operatorHome(operator));
    return ctx.render(request, reply, {
      title: 'Operator log in',
      children: <OperatorLoginForm csrf={ctx.csrf(request, reply)} next={next} />,
    });
  });

  ctx.app.post('/ui/operator/login', async (request, reply) => {
    const operators = portOf(ctx, 'operators', 'Operator logins');
    const username = formField(request.body, 'username').trim();
    const password = formField(request.body, 'password');
    const next = safeNext(formField(request.body, 'next'));
    let session;
    try {
      session = await operators.login(username, password, request.id);
    } catch (error) {
      const errors = formErrorsFrom(error);
      return ctx.render(request, reply, {
        status: errors.status,
        title: 'Operator log in',
        error: errors.message,
        children: <OperatorLoginForm csrf={ctx.csrf(request, reply)} username={username} next={next} errors={errors} />,
      });
    }
    setOperatorCookie(reply, session, ctx.cookies);
    const state = uiState(request);
    state.operatorToken = session.token;
    state.operator = undefined;
    const operator = await optionalUiOperator(request, ctx.ports);
    return redirectTo(reply, next ?? (operator ? operatorHome(operator) : '/ui/operator/login'));
  });

  ctx.app.post('/ui/operator/logout', async (request, reply) => {
    const state = uiState(request);
    if (state.operatorToken && ctx.ports.operators) await ctx.ports.operators.logout(state.operatorToken);
    clearOperatorCookie(reply, ctx.cookies);
    setCsrfCookie(reply, newCsrfSecret(), ctx.cookies);
    return redirectTo(reply, '/ui/operator/login?notice=logged-out');
  });
}
