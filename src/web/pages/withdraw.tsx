import type { FastifyReply, FastifyRequest } from 'fastify';
import { Field, PostForm } from '../components.tsx';
import { formErrorsFrom, formField, walletsOf, type WebContext } from '../context.tsx';
import type { UiWithdrawStep } from '../ports.ts';
import { currentSession } from '../session.ts';
import { moneyFormPage, renderBankForm } from './money-form.tsx';

const PATH = '/ui/withdraw';
const TITLE = 'Withdraw';
type Check = Extract<UiWithdrawStep, { kind: 'check' }>;

/**
 * /ui/withdraw: pay out to the bound debit card (the amount and fee are held
 * until the bank answers). Risk control may ask for an SMS code first, and for
 * a reviewer's approval (SPEC 6); then the person continues to the bank.
 */
export function withdrawPage(ctx: WebContext): void {
  const renderCheck = (request: FastifyRequest, reply: FastifyReply, step: Check, error?: string) =>
    ctx.render(request, reply, {
      ...(error ? { status: 422, error } : {}),
      title: TITLE,
      current: PATH,
      children: <CheckCard step={step} csrf={ctx.csrf(request, reply)} />,
    });

  moneyFormPage(ctx, {
    path: PATH,
    title: TITLE,
    verb: 'Withdraw',
    explain: 'Move money from your wallet to your bound debit card. A withdrawal fee applies; you confirm it at your bank.',
    start: (session, amount, callbackUrl) => walletsOf(ctx).withdraw(session, amount, callbackUrl),
    renderCheck: (request, reply, step) => renderCheck(request, reply, step),
  });

  const guarded = { preHandler: ctx.requireUiUser };
  ctx.app.post(`${PATH}/:id/verify`, guarded, async (request, reply) => {
    const { id } = request.params as { id: string };
    const amount = formField(request.body, 'amount');
    try {
      const step = await walletsOf(ctx).verifyWithdraw(currentSession(request), id, formField(request.body, 'code').trim());
      if (step.kind === 'check') return renderCheck(request, reply, step);
      return renderBankForm(ctx, request, reply, step.gateway, { title: TITLE, path: PATH, verb: 'Withdraw', amount });
    } catch (error) {
      const failure = formErrorsFrom(error);
      if (!failure.code.startsWith('SMS_CODE')) throw error;
      return renderCheck(request, reply, { kind: 'check', id, amount, status: 'AWAITING_VERIFICATION', verification: ['SMS_CODE'] }, failure.message);
    }
  });

  ctx.app.post(`${PATH}/:id/continue`, guarded, async (request, reply) => {
    const { id } = request.params as { id: string };
    const gateway = await walletsOf(ctx).continueWithdraw(currentSession(request), id);
    return renderBankForm(ctx, request, reply, gateway, { title: TITLE, path: PATH, verb: 'Withdraw', amount: formField(request.body, 'amount') });
  });
}

function CheckCard(props: { step: Check; csrf: string }) {
  const { step } = props;
  if (step.status === 'AWAITING_VERIFICATION') {
    return (
      <div class="card" data-testid="withdraw-sms">
        <p>
          For your safety this withdrawal of <strong>{step.amount}</strong> needs the code we sent to your mobile
          {step.verification.includes('MANUAL_REVIEW') ? ', and then a check by our team' : ''}.
        </p>
        <PostForm action={`${PATH}/${step.id}/verify`} csrf={props.csrf} boost={false}>
          <input type="hidden" name="amount" value={step.amount} />
          <Field name="code" label="SMS code" inputmode="numeric" autocomplete="one-time-code" placeholder="123456" />
          <button type="submit">Confirm</button>
        </PostForm>
        <p class="muted">In the sandbox the code is in the SMS sink: GET /sandbox/sms?mobile=…</p>
      </div>
    );
  }
  return (
    <div class="card" data-testid="withdraw-review">
      <p>
        Thank you. Our team checks this withdrawal of <strong>{step.amount}</strong> before it goes to your bank. The amount stays held
        meanwhile; once it is approved, continue from <a href="/ui/records">Records</a>.
      </p>
    </div>
  );
}
