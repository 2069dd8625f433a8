import { Field, PostForm } from '../components.tsx';
import { formErrorsFrom, formField, type FormErrors, type WebContext } from '../context.tsx';
import { redirectTo } from '../render.ts';
import { optionalUiUser } from '../session.ts';

function RegisterForm(props: { csrf: string; mobile?: string; errors?: FormErrors | undefined }) {
  return (
    <div class="card">
      <PostForm action="/ui/register" csrf={props.csrf}>
        <Field name="mobile" label="Mobile number" type="tel" inputmode="tel" autocomplete="username" value={props.mobile} error={props.errors?.fields.mobile} placeholder="13800138000" />
        <Field name="password" label="Login password" type="password" autocomplete="new-password" error={props.errors?.fields.password} />
        <p class="muted">At least 8 characters, mixing letters, digits or symbols. Your bank transaction password is set later, at your bank.</p>
        <button type="submit">Create account</button>
      </PostForm>
      <p>
        Already registered? <a href="/ui/login">Log in</a>
      </p>
    </div>
  );
}

/** GET/POST /ui/register: mobile + login password, then on to the login page. */
export function registerPage(ctx: WebContext): void {
  ctx.app.get('/ui/register', async (request, reply) => {
    if (await optionalUiUser(request, ctx.ports)) return redirectTo(reply, '/ui/wallet');
    return ctx.render(request, reply, {
      title: 'Create your Coffer account',
      children: <RegisterForm csrf={ctx.csrf(request, reply)} />,
    });
  });

  ctx.app.post('/ui/register', async (request, reply) => {
    const mobile = formField(request.body, 'mobile').trim();
    const password = formField(request.body, 'password');
    try {
      await ctx.ports.users.register(mobile, password);
    } catch (error) {
      const errors = formErrorsFrom(error);
      return ctx.render(request, reply, {
        status: errors.status,
        title: 'Create your Coffer account',
        error: errors.message,
        children: <RegisterForm csrf={ctx.csrf(request, reply)} mobile={mobile} errors={errors} />,
      });
    }
    return redirectTo(reply, '/ui/login?notice=registered');
  });
}

