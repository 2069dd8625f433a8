/**
 * Building blocks of every page. Everything renders through preact, which
 * escapes text and attribute values, so user data is always shown as text.
 */
import type { ComponentChildren } from 'preact';
import { CSRF_FIELD } from './csrf.ts';
import type { UiUser } from './ports.ts';

export interface NavItem {
  href: string;
  label: string;
}

/**
 * The wallet's sections. Products, the merchant portal and the admin console
 * join this list when their pages exist.
 */
export const WALLET_NAV: NavItem[] = [
  { href: '/ui/wallet', label: 'Wallet' },
  { href: '/ui/recharge', label: 'Recharge' },
  { href: '/ui/withdraw', label: 'Withdraw' },
  { href: '/ui/bill', label: 'Bill' },
  { href: '/ui/records', label: 'Records' },
  { href: '/ui/cards', label: 'Cards' },
];

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
export function PostForm(props: { action: string; csrf: string; children: ComponentChildren; class?: string; boost?: boolean }) {
  return (
    <form method="post" action={props.action} class={props.class} {...(props.boost === false ? { 'hx-boost': 'false' } : {})}>
      <input type="hidden" name={CSRF_FIELD} value={props.csrf} />
      {props.children}
    </form>
  );
}

export interface FieldProps {
  name: string;
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
  const id = `field-${props.name}`;
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

export function Money(props: { amount: string; currency?: string | undefined }) {
  return (
    <span class="money">
      {props.amount}
      {props.currency ? <span class="currency"> {props.currency}</span> : null}
    </span>
  );
}

export function StatusBadge(props: { status: string }) {
  const tone = /SUCC|ACTIVE|PAID|POSTED/.test(props.status) ? 'ok' : /FAIL|FROZEN|CLOSED|VOID/.test(props.status) ? 'bad' : 'wait';
  return <span class={`badge badge-${tone}`}>{props.status}</span>;
}

/** An ISO-8601 UTC time as people read it: "2026-11-22 05:07:55 UTC" (the exact value in the tooltip). */
export function Time(props: { iso: string | undefined }) {
  if (!props.iso) return null;
  const match = /^(\d{4}-\d{2}-\d{2})T(\d{2}:\d{2}:\d{2})/.exec(props.iso);
  return (
    <time dateTime={props.iso} title={props.iso}>
      {match ? `${match[1]} ${match[2]} UTC` : props.iso}
    </time>
  );
}
