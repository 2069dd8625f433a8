/**
 * Building blocks of every page. Everything renders through preact, which
 * escapes text and attribute values, so user data is always shown as text.
 */
import { randomUUID } from 'node:crypto';
import type { ComponentChildren } from 'preact';
import { CSRF_FIELD } from './csrf.ts';
import type { UiEntry, UiOperator, UiUser } from './ports.ts';

export interface NavItem {
  href: string;
  label: string;
}

/** The wallet's sections. */
export const WALLET_NAV: NavItem[] = [
  { href: '/ui/wallet', label: 'Wallet' },
  { href: '/ui/recharge', label: 'Recharge' },
  { href: '/ui/withdraw', label: 'Withdraw' },
  { href: '/ui/bill', label: 'Bill' },
  { href: '/ui/records', label: 'Records' },
  { href: '/ui/cards', label: 'Cards' },
  { href: '/ui/products', label: 'Products' },
  { href: '/ui/holdings', label: 'Holdings' },
  { href: '/ui/coupons', label: 'Coupons' },
  { href: '/ui/payment-cards', label: 'Payment cards' },
  { href: '/ui/orders', label: 'Orders' },
];

/** The admin console's sections (admin operators). */
export const ADMIN_NAV: NavItem[] = [
  { href: '/ui/admin/merchants', label: 'Merchants' },
  { href: '/ui/admin/operators', label: 'Operators' },
  { href: '/ui/admin/risk/rules', label: 'Risk rules' },
  { href: '/ui/admin/risk/blacklist', label: 'Blacklist' },
  { href: '/ui/admin/risk/decisions', label: 'Decisions' },
  { href: '/ui/admin/risk/reviews', label: 'Reviews' },
  { href: '/ui/admin/sms', label: 'SMS sink' },
  { href: '/ui/admin/products', label: 'Products' },
  { href: '/ui/admin/channels', label: 'Channels' },
  { href: '/ui/admin/routing', label: 'Routing' },
  { href: '/ui/admin/coupons', label: 'Coupons' },
  { href: '/ui/admin/clock', label: 'Test clock' },
  { href: '/ui/admin/books', label: 'Books' },
  { href: '/ui/admin/settlement-checks', label: 'Settlement' },
];

/** The merchant portal's sections (a merchant's maker, checker or viewer). */
export const PORTAL_NAV: NavItem[] = [
  { href: '/ui/portal', label: 'Overview' },
  { href: '/ui/portal/payouts', label: 'Payouts' },
  { href: '/ui/portal/batches', label: 'Batches' },
  { href: '/ui/portal/webhooks', label: 'Webhooks' },
  { href: '/ui/portal/reconciliation', label: 'Reconciliation' },
  { href: '/ui/portal/keys', label: 'API keys' },
];

export function operatorNav(operator: UiOperator): NavItem[] {
  if (operator.role === 'admin') return ADMIN_NAV;
  return operator.merchantId ? PORTAL_NAV : [];
}

/** A message box: `role=alert` for errors so screen readers announce them. */
export function Flash(props: { kind: 'error' | 'notice'; children: ComponentChildren }) {
  return (
    <div class={`flash flash-${props.kind}`} role={props.kind === 'error' ? 'alert' : 'status'} data-testid={`flash-${props.kind}`}>
      {props.children}
    </div>
  );
}

/**
 * A POST form that carries the CSRF token; works without JS (htmx boost only
 * speeds it up). `boost={false}` when the answer must be a real page load: a
 * page that posts on to the bank needs its own CSP (form-action), which a
 * boosted swap would not bring.
 */
export function PostForm(props: { action: string; csrf: string; children: ComponentChildren; class?: string; boost?: boolean; enctype?: 'multipart/form-data' }) {
  return (
    <form method="post" action={props.action} class={props.class} enctype={props.enctype} {...(props.boost === false ? { 'hx-boost': 'false' } : {})}>
      <input type="hidden" name={CSRF_FIELD} value={props.csrf} />
      {props.children}
    </form>
  );
}

export interface FieldProps {
  name: string;
  /** When two forms of a page share a field name; default `field-<name>`. */
  id?: string;
  label: string;
  type?: 'text' | 'password' | 'tel' | 'email';
  value?: string | undefined;
  error?: string | undefined;
  autocomplete?: string;
  inputmode?: 'numeric' | 'decimal' | 'tel' | 'text';
  required?: boolean;
  placeholder?: string;
}

export function Field(props: FieldProps) {
  const id = props.id ?? `field-${props.name}`;
  return (
    <div class={props.error ? 'field field-invalid' : 'field'}>
      <label for={id}>{props.label}</label>
      <input
        id={id}
        name={props.name}
        // preact types each input type's attributes apart; these four share the ones used here.
        type={(props.type ?? 'text') as 'text'}
        value={props.value ?? ''}
        autocomplete={props.autocomplete}
        inputMode={props.inputmode}
        required={props.required ?? true}
        placeholder={props.placeholder}
        aria-invalid={props.error ? 'true' : undefined}
        aria-describedby={props.error ? `${id}-error` : undefined}
      />
      {props.error ? (
        <p class="field-error" id={`${id}-error`}>
          {props.error}
        </p>
      ) : null}
    </div>
  );
}

export function UserBar(props: { user: UiUser; csrf: string }) {
  return (
    <div class="userbar">
      <span class="who" data-testid="current-user">
        {props.user.mobile}
      </span>
      {props.user.status === 'FROZEN' ? <span class="badge badge-warn">frozen</span> : null}
      <PostForm action="/ui/logout" csrf={props.csrf} class="inline">
        <button type="submit" class="link">
          Log out
        </button>
      </PostForm>
    </div>
  );
}

export function OperatorBar(props: { operator: UiOperator; csrf: string }) {
  return (
    <div class="userbar">
      <span class="who" data-testid="current-operator">
        {props.operator.username}
      </span>
      <span class="badge badge-wait">{props.operator.role}</span>
      <PostForm action="/ui/operator/logout" csrf={props.csrf} class="inline">
        <button type="submit" class="link">
          Log out operator
        </button>
      </PostForm>
    </div>
  );
}

/**
 * An Idempotency-Key made when a form is shown and sent back with it: a double
 * submit (or a retry after a lost answer) then creates, funds or buys once.
 * The page passes it on with `idempotencyHeader` (context.tsx).
 */
export function IdempotencyField() {
  return <input type="hidden" name="idempotencyKey" value={randomUUID()} />;
}

/** A small form that is one button (approve, revoke, ...), with the CSRF token. */
export function ActionButton(props: { action: string; csrf: string; label: string; danger?: boolean; children?: ComponentChildren }) {
  return (
    <PostForm action={props.action} csrf={props.csrf} class="inline">
      {props.children}
      <button type="submit" class={props.danger ? 'danger' : undefined}>
        {props.label}
      </button>
    </PostForm>
  );
}

/** A select box in the field style. */
export function Select(props: { name: string; label: string; options: readonly string[]; value?: string | undefined; error?: string | undefined; blank?: string }) {
  const id = `field-${props.name}`;
  return (
    <div class={props.error ? 'field field-invalid' : 'field'}>
      <label for={id}>{props.label}</label>
      <select id={id} name={props.name}>
        {props.blank !== undefined ? <option value="">{props.blank}</option> : null}
        {props.options.map((option) => (
          <option value={option} selected={option === props.value}>
            {option}
          </option>
        ))}
      </select>
      {props.error ? <p class="field-error">{props.error}</p> : null}
    </div>
  );
}

/** A list page's filter: one choice (blank = any), sent as a GET so the filtered page has its own address. */
export function FilterForm(props: { action: string; name: string; label: string; options: readonly string[]; value?: string | undefined }) {
  return (
    <form method="get" action={props.action} class="filters">
      <Select name={props.name} label={props.label} options={props.options} value={props.value} blank="any" />
      <button type="submit">Filter</button>
    </form>
  );
}

export function Money(props: { amount: string; currency?: string | undefined }) {
  return (
    <span class="money">
      {props.amount}
      {props.currency ? <span class="currency"> {props.currency}</span> : null}
    </span>
  );
}

export function StatusBadge(props: { status: string }) {
  const tone = /SUCC|ACTIVE|PAID|POSTED|APPROVED|PROCESSED|DELIVERED|LOW/.test(props.status)
    ? 'ok'
    : /FAIL|FROZEN|CLOSED|VOID|REJECT|SUSPENDED|DISABLED|DEAD|REVERSED|HIGH/.test(props.status)
      ? 'bad'
      : 'wait';
  return <span class={`badge badge-${tone}`}>{props.status}</span>;
}

/** An ISO-8601 UTC time as people read it: "2026-11-22 05:07:55 UTC" (the exact value in the tooltip). */
export function Time(props: { iso: string | null | undefined }) {
  if (!props.iso) return null;
  const match = /^(\d{4}-\d{2}-\d{2})T(\d{2}:\d{2}:\d{2})/.exec(props.iso);
  return (
    <time dateTime={props.iso} title={props.iso}>
      {match ? `${match[1]} ${match[2]} UTC` : props.iso}
    </time>
  );
}

/** A ledger account's entries (the merchant's bill), newest first. */
export function EntriesTable(props: { entries: UiEntry[]; empty?: string }) {
  if (props.entries.length === 0) return <p class="card muted">{props.empty ?? 'No entries yet.'}</p>;
  return (
    <table data-testid="entries">
      <thead>
        <tr>
          <th>Time</th>
          <th>What</th>
          <th class="num">Amount</th>
          <th class="num">Balance after</th>
        </tr>
      </thead>
      <tbody>
        {props.entries.map((entry) => (
          <tr>
            <td>
              <Time iso={entry.createdAt} />
            </td>
            <td>{entry.code}</td>
            <td class="num">
              {entry.direction === 'DEBIT' ? '-' : '+'}
              <Money amount={entry.amount} currency={entry.currency} />
            </td>
            <td class="num">{entry.balanceAfter ? <Money amount={entry.balanceAfter} /> : null}</td>
          </tr>
        ))}
      </tbody>
    </table>
  );
}
