import type { FastifyReply, FastifyRequest } from 'fastify';
import { Field, PostForm } from '../components.tsx';
import { formErrorsFrom, formField, type FormErrors, type WebContext } from '../context.tsx';
import type { GatewayRequest } from '../../protocol/depository.ts';
import type { UiWithdrawStep } from '../ports.ts';
import { currentSession } from '../session.ts';
import { callbackUrl, renderGatewayPage } from './gateway.tsx';

export interface MoneyFlow {
  path: string;
  title: string;
  verb: string;
  explain: string;
  /** Asks the wallets module for the signed request the browser takes to the bank (or, for a withdrawal, the checks first). */
  start(session: string, amount: string, callbackUrl: string): Promise<UiWithdrawStep>;
  /** Shows a step that is not the bank form yet (a withdrawal's SMS code or review). */
  renderCheck?(request: FastifyRequest, reply: FastifyReply, step: Extract<UiWithdrawStep, { kind: 'check' }>): FastifyReply;
}

function AmountForm(props: { flow: MoneyFlow; csrf: string; amount?: string; errors?: FormErrors | undefined }) {
  const needsAccount = props.errors?.code === 'ACCOUNT_NOT_OPENED';
  return (
    <div class="card">
      {needsAccount ? (
        <p>
          <a href="/ui/wallet" class="button">Open your depository account</a>
        </p>
      ) : null}
      <p class="muted">{props.flow.explain}</p>
      <PostForm action={props.flow.path} csrf={props.csrf} boost={false}>
        <Field name="amount" label="Amount" inputmode="decimal" value={props.amount} error={props.errors?.fields.amount} placeholder="100.00" />
        <button type="submit">{props.flow.verb}</button>
      </PostForm>
    </div>
  );
}

/** The currency the bank will move, as the signed request names it (the bank's currency). */
function currencyOf(gateway: GatewayRequest): string | undefined {
  try {
    const currency = (JSON.parse(gateway.reqData) as { currency?: unknown }).currency;
    return typeof currency === 'string' ? currency : undefined;
  } catch {
    return undefined;
  }
}

/**
 * A page with an amount form whose POST asks the wallets module for a
 * GatewayRequest and shows the bank form; the bank brings the browser back to
 * /ui/records, which shows the record's status.
 */
export function moneyFormPage(ctx: WebContext, flow: MoneyFlow): void {
  const guarded = { preHandler: ctx.requireUiUser };

  ctx.app.get(flow.path, guarded, async (request, reply) =>
    ctx.render(request, reply, {
      title: flow.title,
      current: flow.path,
      children: <AmountForm flow={flow} csrf={ctx.csrf(request, reply)} />,
    }),
  );

  ctx.app.post(flow.path, guarded, async (request: FastifyRequest, reply: FastifyReply) => {
    const amount = formField(request.body, 'amount').trim();
    let step: UiWithdrawStep;
    try {
      step = await flow.start(currentSession(request), amount, callbackUrl(request, '/ui/records?notice=bank-returned'));
    } catch (error) {
      const errors = formErrorsFrom(error);
      return ctx.render(request, reply, {
        status: errors.status,
        title: flow.title,
        current: flow.path,
        error: errors.message,
        children: <AmountForm flow={flow} csrf={ctx.csrf(request, reply)} amount={amount} errors={errors} />,
      });
    }
    if (step.kind === 'check') return flow.renderCheck!(request, reply, step);
    return renderBankForm(ctx, request, reply, step.gateway, { title: flow.title, path: flow.path, verb: flow.verb, amount });
  });
}

/** The page whose button takes the signed request to the bank, with what it is for. */
export function renderBankForm(
  ctx: WebContext,
  request: FastifyRequest,
  reply: FastifyReply,
  gateway: GatewayRequest,
  page: { title: string; path: string; verb: string; amount: string },
): FastifyReply {
  return renderGatewayPage(ctx, request, reply, gateway, {
    title: page.title,
    current: page.path,
    summary: (
      <p data-testid="gateway-summary">
        {page.verb}: <strong>{page.amount}</strong>
        {currencyOf(gateway) ? ` ${currencyOf(gateway)}` : ''}
      </p>
    ),
  });
}
