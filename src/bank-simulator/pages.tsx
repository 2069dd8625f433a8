/**
 * The bank's hosted pages (a contract for automation: each is one <form> with
 * the SPEC's input names). Rendered on the server; preact escapes every value.
 */
import type { ComponentChildren } from 'preact';
import { renderToString } from 'preact-render-to-string';
import { formatMinor, type CurrencyCode } from '../platform/money/money.ts';
import type { ConfirmView, FinishedView, Refusal } from './gateway.service.ts';
import type { RegisterForm } from './validation.ts';
import { maskCardNumber, PASSWORD_MIN } from './validation.ts';

export const STYLESHEET_PATH = '/assets/bank.css';

const SERVICE_TITLES: Record<string, string> = {
  PERSONAL_REGISTER: 'Open a depository account',
  RECHARGE: 'Confirm recharge',
  WITHDRAW: 'Confirm withdrawal',
  BIND_CARD: 'Add a debit card',
};

function Layout(props: { title: string; children: ComponentChildren }) {
  return (
    <html lang="en">
      <head>
        <meta charset="utf-8" />
        <meta name="viewport" content="width=device-width, initial-scale=1" />
        <title>{`${props.title} · Sandbox Depository Bank`}</title>
        <link rel="stylesheet" href={STYLESHEET_PATH} />
      </head>
      <body>
        <header class="bank-header">
          <span class="bank-logo">SDB</span>
          <span class="bank-name">Sandbox Depository Bank</span>
          <span class="bank-badge">sandbox</span>
        </header>
        <main class="bank-panel">
          <h1>{props.title}</h1>
          {props.children}
        </main>
        <footer class="bank-footer">Your transaction password is entered on the bank's page only; the platform never sees it.</footer>
      </body>
    </html>
  );
}

function page(node: preact.VNode): string {
  return `<!doctype html>${renderToString(node)}`;
}

function Hidden(props: { view: { request: { request_no: string; form_token: string } } }) {
  return (
    <>
      <input type="hidden" name="requestNo" value={props.view.request.request_no} />
      <input type="hidden" name="formToken" value={props.view.request.form_token} />
    </>
  );
}

function Field(props: { label: string; name: keyof RegisterForm; type?: string; value?: string | undefined; error?: string | undefined; hint?: string; autocomplete?: string }) {
  return (
    <label class={props.error ? 'field field-error' : 'field'}>
      <span>{props.label}</span>
      <input
        name={props.name}
        type={(props.type ?? 'text') as 'text'}
        value={props.value ?? ''}
        required
        autocomplete={props.autocomplete ?? 'off'}
        aria-invalid={props.error ? 'true' : undefined}
      />
      {props.error ? <em class="error">{props.error}</em> : props.hint ? <small>{props.hint}</small> : null}
    </label>
  );
}

function Alert(props: { error: string | undefined; lockedUntil: Date | undefined }) {
  if (props.lockedUntil) {
    return <p class="alert" role="alert">{`Your account is locked until ${props.lockedUntil.toISOString()} after too many wrong passwords.`}</p>;
  }
  return props.error ? <p class="alert" role="alert">{props.error}</p> : null;
}

function RegisterPage({ view }: { view: ConfirmView }) {
  const v = view.values;
  const e = view.fieldErrors;
  return (
    <Layout title={SERVICE_TITLES.PERSONAL_REGISTER!}>
      <Alert error={view.error} lockedUntil={undefined} />
      <form method="post" action="/gateway/confirm" class="bank-form">
        <Hidden view={view} />
        <p class="summary">{`Platform user ${view.request.user_no} · request ${view.request.request_no}`}</p>
        <Field label="Real name" name="realName" value={v.realName} error={e.realName} />
        <Field label="ID number" name="idNumber" value={v.idNumber} error={e.idNumber} hint="18 characters" />
        <Field label="Debit card number (in your own name)" name="cardNumber" value={v.cardNumber} error={e.cardNumber} />
        <Field label="Bank code" name="bankCode" value={v.bankCode} error={e.bankCode} hint="e.g. ICBC, CMB, BOC" />
        <Field label="Mobile" name="mobile" type="tel" value={v.mobile ?? view.data.mobile} error={e.mobile} />
        <Field label="Transaction password" name="password" type="password" error={e.password} hint={`At least ${PASSWORD_MIN} characters`} autocomplete="new-password" />
        <Field label="Repeat the transaction password" name="passwordConfirm" type="password" error={e.passwordConfirm} autocomplete="new-password" />
        <button type="submit">Open account</button>
      </form>
    </Layout>
  );
}

/** BIND_CARD: the new card and the transaction password (contract: cardNumber, bankCode, password + hidden). */
function BindCardPage({ view }: { view: ConfirmView }) {
  const v = view.values;
  const e = view.fieldErrors;
  return (
    <Layout title={SERVICE_TITLES.BIND_CARD!}>
      <Alert error={view.error} lockedUntil={view.lockedUntil} />
      <form method="post" action="/gateway/confirm" class="bank-form">
        <Hidden view={view} />
        <p class="summary">{`Platform user ${view.request.user_no} · request ${view.request.request_no}`}</p>
        <Field label="Debit card number (in your own name)" name="cardNumber" value={v.cardNumber} error={e.cardNumber} />
        <Field label="Bank code" name="bankCode" value={v.bankCode} error={e.bankCode} hint="e.g. ICBC, CMB, BOC" />
        <Field label="Transaction password" name="password" type="password" error={e.password} autocomplete="current-password" />
        <button type="submit">Bind card</button>
      </form>
    </Layout>
  );
}

function money(minor: bigint | null, currency: string | null): string {
  return `${formatMinor(minor ?? 0n, (currency ?? 'CNY') as CurrencyCode)} ${currency ?? 'CNY'}`;
}

function PaymentPage({ view }: { view: ConfirmView }) {
  const { request } = view;
  const isWithdraw = request.service_name === 'WITHDRAW';
  const fee = request.fee_minor ?? 0n;
  const card = view.card ? `${maskCardNumber(view.card.card_number)}${view.card.bank_code ? ` (${view.card.bank_code})` : ''}` : 'none';
  return (
    <Layout title={SERVICE_TITLES[request.service_name] ?? 'Confirm'}>
      <Alert error={view.error} lockedUntil={view.lockedUntil} />
      <form method="post" action="/gateway/confirm" class="bank-form">
        <Hidden view={view} />
        <dl class="summary-list">
          <dt>Request</dt>
          <dd>{request.request_no}</dd>
          <dt>Amount</dt>
          <dd class="amount">{money(request.amount_minor, request.currency)}</dd>
          {isWithdraw ? (
            <>
              <dt>Fee</dt>
              <dd>{money(fee, request.currency)}</dd>
              <dt>Reaches your card</dt>
              <dd>{money((request.amount_minor ?? 0n) - fee, request.currency)}</dd>
            </>
          ) : null}
          <dt>{isWithdraw ? 'To card' : 'From card'}</dt>
          <dd>{card}</dd>
        </dl>
        <label class="field">
          <span>Transaction password</span>
          <input name="password" type="password" required autocomplete="current-password" />
        </label>
        <button type="submit">{isWithdraw ? 'Withdraw' : 'Pay'}</button>
      </form>
    </Layout>
  );
}

export function renderConfirmPage(view: ConfirmView): string {
  switch (view.request.service_name) {
    case 'PERSONAL_REGISTER':
      return page(<RegisterPage view={view} />);
    case 'BIND_CARD':
      return page(<BindCardPage view={view} />);
    default:
      return page(<PaymentPage view={view} />);
  }
}

export function renderFinishedPage(view: FinishedView): string {
  const ok = view.request.status === 'SUCCESS';
  return page(
    <Layout title={ok ? 'Done' : 'Not completed'}>
      <p class={ok ? 'notice' : 'alert'} role="status">{view.message}</p>
      <form method="post" action="/gateway/return" class="bank-form">
        <Hidden view={view} />
        <button type="submit">Return to the platform</button>
      </form>
    </Layout>,
  );
}

export function renderErrorPage(refusal: Refusal): string {
  return page(
    <Layout title={refusal.title}>
      <p class="alert" role="alert">{refusal.message}</p>
    </Layout>,
  );
}
