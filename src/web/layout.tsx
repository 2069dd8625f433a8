import type { ComponentChildren } from 'preact';
import { Flash, type NavItem, OperatorBar, operatorNav, UserBar, WALLET_NAV } from './components.tsx';
import type { UiOperator, UiUser } from './ports.ts';

/**
 * htmx settings that keep it inside our CSP and off the user's disk: no
 * injected <style>, no eval, no inline <script> from swapped content, no
 * page snapshots (balances) in localStorage, never a `style` attribute copied
 * while settling a swap (setAttribute('style') is inline style to the CSP); error pages (4xx/5xx) are swapped
 * in like any other, since they carry the re-rendered form and its messages.
 */
const HTMX_CONFIG = JSON.stringify({
  includeIndicatorStyles: false,
  allowEval: false,
  allowScriptTags: false,
  historyCacheSize: 0,
  refreshOnHistoryMiss: true,
  selfRequestsOnly: true,
  attributesToSettle: ['class', 'width', 'height'],
  responseHandling: [
    { code: '204', swap: false },
    { code: '...', swap: true },
  ],
});

export interface LayoutProps {
  title: string;
  /** The logged-in user; absent on the login and register pages. */
  user?: UiUser | undefined;
  /** The logged-in operator (admin console, merchant portal), in its own session. */
  operator?: UiOperator | undefined;
  csrf: string;
  /** Which nav item is current (its href). */
  current?: string;
  error?: string | undefined;
  notice?: string | undefined;
  children: ComponentChildren;
}

export function Layout(props: LayoutProps) {
  return (
    <html lang="en">
      <head>
        <meta charset="utf-8" />
        <meta name="viewport" content="width=device-width, initial-scale=1" />
        <meta name="htmx-config" content={HTMX_CONFIG} />
        <title>{`${props.title} · Coffer`}</title>
        <link rel="stylesheet" href="/assets/app.css" />
        <script src="/assets/htmx.min.js" defer></script>
      </head>
      <body hx-boost="true">
        <header class="topbar">
          <a class="brand" href="/ui/">
            Coffer
          </a>
          {props.user ? <Nav label="Wallet" items={WALLET_NAV} current={props.current} /> : null}
          {props.operator ? <Nav label={props.operator.role === 'admin' ? 'Admin console' : 'Merchant portal'} items={operatorNav(props.operator)} current={props.current} /> : null}
          {props.user ? <UserBar user={props.user} csrf={props.csrf} /> : null}
          {props.operator ? <OperatorBar operator={props.operator} csrf={props.csrf} /> : null}
        </header>
        <main id="main">
          <h1>{props.title}</h1>
          {props.error ? <Flash kind="error">{props.error}</Flash> : null}
          {props.notice ? <Flash kind="notice">{props.notice}</Flash> : null}
          {props.children}
        </main>
      </body>
    </html>
  );
}

function Nav(props: { label: string; items: NavItem[]; current: string | undefined }) {
  return (
    <nav aria-label={props.label}>
      {props.items.map((item) => (
        <a href={item.href} aria-current={props.current === item.href ? 'page' : undefined}>
          {item.label}
        </a>
      ))}
    </nav>
  );
}
