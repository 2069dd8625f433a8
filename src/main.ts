import type { AddressInfo } from 'node:net';
import { pathToFileURL } from 'node:url';
import { migrations } from './migrations.ts';
import { ConfigError, loadConfig, type Config } from './platform/config.ts';
import { migrateToLatest, openStore, StoreLockedError, type Store } from './platform/db/store.ts';
import { buildHttpServer, type CofferApp, type HttpModule } from './platform/http/server.ts';
import { createLogger, type Logger } from './platform/log.ts';
import { createMetrics, type Metrics } from './platform/metrics.ts';
import { SystemClock } from './platform/clock.ts';
import { clockHttpModule } from './platform/clock.routes.ts';
import { ProductsService, productsHttpModule } from './modules/products/index.ts';
import { startIntervalJob, startSingletonJob, type IntervalJob } from './platform/jobs.ts';
import { createEventBus, type EventBus } from './platform/bus/index.ts';
import { LedgerMonitor, LedgerService } from './modules/ledger/index.ts';
import { ledgerHttpModule } from './modules/ledger/ledger.routes.ts';
import { userAuthPlugin, usersHttpModule, UsersService, type UsersOptions } from './modules/users/index.ts';
import { DEPOSITORY_SETTLED, DepositoryAgent, depositoryHttpModule, type DepositorySettledEvent } from './modules/depository/index.ts';
import { CARD_REMOVED, type CardRemovedEvent, WalletAccounts, walletAccountsHttpModule, WalletsService, walletsHttpModule } from './modules/wallets/index.ts';
import { OrdersService, ordersHttpModule } from './modules/orders/index.ts';
import { RISK_REVIEWED, riskHttpModule, type RiskReviewedEvent, RiskService } from './modules/risk/index.ts';
import { PAYOUT_FINAL, PayoutsService, payoutsHttpModule } from './modules/payouts/index.ts';
import { loadCodeKey, NoSmsProvider, SandboxSmsSink, smsHttpModule, SmsService } from './modules/sms/index.ts';
import { batchesPort, operatorsPort, portalPort, usersPort, webHttpModule } from './web/index.ts';
import {
  FundingService,
  fundingHttpModule,
  merchantAuthPlugin,
  MerchantsService,
  merchantsHttpModule,
  operatorAdminVerifier,
  OperatorsService,
  SecretBox,
  type MerchantsOptions,
  type OperatorsOptions,
} from './modules/merchants/index.ts';
import {
  payoutFinalConsumer,
  WebhooksService,
  webhooksHttpModule,
  type PayoutFinalMessage,
  type WebhooksOptions,
} from './modules/webhooks/index.ts';
import { HttpChannelConnector, PAYMENT_FINAL, type PaymentFinalEvent, PaymentsService, paymentsHttpModule, reportingConnector } from './modules/payments/index.ts';
import { ensureKeyPair } from './protocol/depository.ts';
import { BankPublicKey } from './platform/bank-key.ts';
import { PayoutBatchesService, payoutBatchesHttpModule, type PayoutFinalPayload as BatchPayoutFinal } from './modules/payout-batches/index.ts';
import { auditHttpModule } from './platform/audit.ts';
import { alertsHttpModule } from './platform/alerts.ts';
import { IdempotencyStore, idempotencyPlugin } from './platform/http/idempotency.ts';
import type { AdminVerifier } from './platform/http/auth.ts';
import { Counter, Gauge, Histogram } from 'prom-client';
import { seedDemoPlatform } from './demo.ts';
import type { Clock } from './platform/clock.ts';
import {
  payoutFinalConsumer as reconciliationConsumer,
  ReconciliationService,
  reconciliationHttpModule,
  type PayoutFinalPayload,
  type ReconciliationOptions,
} from './modules/reconciliation/index.ts';
import { BankStatements, SettlementCheckService, settlementCheckHttpModule } from './modules/settlement-check/index.ts';

/** How long in-flight requests get to finish after SIGINT/SIGTERM before the process gives up. */
const SHUTDOWN_GRACE_MS = 10_000;

export interface RunningCoffer {
  app: CofferApp;
  store: Store;
  /** Where the server listens, with the port actually bound (PORT=0 picks a free one). */
  url: string;
  /** The payment core's in-process surface (business modules, and tests that play one). */
  payments: PaymentsService;
  /** Stops taking requests, lets in-flight ones finish, then closes the store. Safe to call twice. */
  close(): Promise<void>;
}

/** Overrides for tests (the environment configures everything else). */
export interface StartOptions {
  /** Password hashing cost and anything else of the users module's options (over the environment's). */
  users?: Partial<UsersOptions>;
  /** Operators' session lifetime, lockout and password hashing cost. */
  operators?: Partial<OperatorsOptions>;
  merchants?: Partial<MerchantsOptions>;
  webhooks?: Partial<WebhooksOptions>;
  /** Reconciliation's options and its own clock (tests move it to close days without waiting for one to pass). */
  reconciliation?: Partial<ReconciliationOptions> & { clock?: Clock };
}

/** Every module's service, HTTP routes and background work, wired once. */
interface Services {
  modules: HttpModule[];
  /** App-wide decorators (e.g. `app.requireUser`), registered before the modules. */
  plugins: HttpModule[];
  /** Ways besides ADMIN_TOKEN to be an admin (operator sessions with the admin role). */
  adminVerifiers: AdminVerifier[];
  relay: EventBus;
  jobs: IntervalJob[];
  payments: PaymentsService;
  seedDemo(): Promise<void>;
}

function buildServices(config: Config, store: Store, clock: SystemClock, logger: Logger, metrics: Metrics, options: StartOptions = {}): Services {
  const batchSize = new Histogram({
    name: 'coffer_ledger_batch_size',
    help: 'Ledger units written per database call (group commit)',
    buckets: [1, 2, 5, 10, 20, 50, 100, 200, 500, 1000, 2000],
    registers: [metrics.registry],
  });
  const ledger = new LedgerService({
    db: store.db,
    clock,
    writer: {
      mode: config.ledger.commitMode,
      maxBatchSize: config.ledger.maxBatchSize,
      // The embedded store has one connection; a server takes another batch while one commits.
      concurrency: store.kind === 'postgres' ? config.ledger.batchConcurrency : 1,
      onBatch: (size) => batchSize.observe(size),
      logError: (message, err) => logger.error({ err }, message),
    },
  });
  const users = new UsersService({ db: store.db, clock, options: { ...config.users, ...options.users } });
  const relay = createEventBus(config, store.db, logger);
  new Gauge({
    name: 'coffer_event_bus_connected',
    help: '1 while the event bus reaches its broker (always 1 for the in-database relay); at 0, messages wait in the outbox',
    labelNames: ['bus'] as const,
    registers: [metrics.registry],
    collect() {
      const state = relay.state();
      this.reset();
      this.set({ bus: state.kind }, state.connected ? 1 : 0);
    },
  });
  const jobs = [
    // The sandbox test clock: another process may have advanced the stored offset.
    startIntervalJob('clock.refresh', config.clock.refreshMs, () => clock.refresh(), logger),
    startIntervalJob('ledger.expire-pending', config.ledger.pendingExpiryIntervalMs, () => ledger.expireDuePendings(), logger),
    startSingletonJob(store.db, 'users.purge-ended-sessions', 60 * 60 * 1000, () => users.purgeEndedSessions(), logger),
  ];
  // The books checked continuously: a break is a metric, an error log and an admin alert.
  if (config.ledger.monitorIntervalMs > 0) {
    const monitor = new LedgerMonitor({ ledger, db: store.db, clock, logger, registry: metrics.registry });
    jobs.push(startSingletonJob(store.db, 'ledger.monitor', config.ledger.monitorIntervalMs, () => monitor.run(), logger));
  }

  // Depository agent and user center (SPEC 3, 4): the agent settles bank results and
  // publishes DEPOSITORY_SETTLED; the user center hears them only through the outbox.
  const agent = new DepositoryAgent({
    db: store.db,
    clock,
    config,
    logger,
    onSettled: () => relay.nudge(),
    settleBatching: { maxBatch: 200, concurrency: 1 },
  });
  // Merchants, operators, API keys and signed requests (SPEC 5); Idempotency-Key for opted-in POSTs.
  const idempotency = new IdempotencyStore(store.db, clock, config.idempotency);
  const secretBox = SecretBox.fromConfig(config.merchants);
  const merchants = new MerchantsService({
    db: store.db,
    clock,
    ledger,
    secrets: secretBox,
    options: { signatureWindowS: config.merchants.signatureWindowS, ...options.merchants },
  });
  const operators = new OperatorsService({ db: store.db, clock, options: options.operators ?? {} });
  jobs.push(
    startSingletonJob(store.db, 'merchants.purge-seen-requests', 60 * 1000, () => merchants.purgeSeenRequests(), logger),
    startIntervalJob('merchants.complete-adjustments', 10 * 1000, () => merchants.completePendingAdjustments(), logger),
    startSingletonJob(store.db, 'operators.purge-ended-sessions', 60 * 60 * 1000, () => operators.purgeEndedSessions(), logger),
    startSingletonJob(store.db, 'idempotency.purge', 60 * 60 * 1000, () => idempotency.purge(), logger),
  );

  // One-time SMS codes (SPEC 6). In sandbox mode the development sink keeps each message;
  // otherwise no provider is plugged in yet and nothing is stored.
  const sms = new SmsService({
    db: store.db,
    clock,
    sender: config.sandbox ? new SandboxSmsSink(clock) : new NoSmsProvider(logger),
    codeKey: loadCodeKey(config.sms.codeKey, config.depository.keysDir),
    options: {
      codeTtlMs: config.sms.codeTtlS * 1000,
      maxAttempts: config.sms.maxAttempts,
      resendCooldownMs: config.sms.resendCooldownS * 1000,
    },
  });

  jobs.push(startSingletonJob(store.db, 'sms.purge-old', 60 * 60 * 1000, () => sms.purgeOld(), logger));

  const riskAssessments = new Counter({
    name: 'coffer_risk_assessments_total',
    help: 'Risk assessments made, by flow and level',
    labelNames: ['flow', 'level'] as const,
    registers: [metrics.registry],
  });
  // Risk control (SPEC 6): blacklists, stored rules, decisions and manual review; review
  // answers go out on the outbox (RISK_REVIEWED) for the flow that owns the money request.
  const risk = new RiskService({
    db: store.db,
    clock,
    options: { dayUtcOffsetMinutes: config.risk.dayUtcOffsetMinutes },
    onReviewed: () => relay.nudge(),
    onAssessed: (flow, level) => riskAssessments.labels({ flow, level }).inc(),
  });

  // Transaction orders (seed 002): each money request's row, opened and settled by the module that carries it out.
  const orders = new OrdersService({ db: store.db, clock, ledger });
  // The user center (wallets) over the agent, with risk control and SMS codes for withdrawals.
  const wallets = new WalletsService({
    orders,
    db: store.db,
    clock,
    logger,
    ledger,
    agent,
    depository: config.depository,
    assertUserCanMoveMoney: (userId, tx) => users.assertUserCanMoveMoney(userId, tx),
    risk,
    sms,
    onCardRemoved: () => relay.nudge(),
  });
  relay.subscribeBatch<DepositorySettledEvent>(DEPOSITORY_SETTLED, 'wallets.depository-settled', (messages) => wallets.handleSettled(messages));
  // A card the user removed is unbound at the bank too (signed UNBIND_CARD); the relay retries while the bank is away.
  relay.subscribe<CardRemovedEvent>(CARD_REMOVED, 'depository.unbind-card', async (message) => {
    await agent.unbindCard(message.payload);
  });
  jobs.push(
    startIntervalJob('depository.query-pending', config.depository.queryIntervalMs, () => agent.queryDue(), logger),
    startSingletonJob(store.db, 'wallets.release-orphan-holds', config.depository.queryIntervalMs, () => wallets.withdrawals.releaseOrphanHolds(), logger),
    startIntervalJob('wallets.expire-unsent-withdraws', config.depository.queryIntervalMs, () => wallets.withdrawals.expireUnsent(), logger),
  );
  relay.subscribe<RiskReviewedEvent>(RISK_REVIEWED, 'wallets.withdraw-reviewed', (message) => wallets.withdrawals.handleReviewed(message.payload));

  // Single payouts (SPEC 5): accepted with a hold, dispatched to the bank's payout channel by a
  // claimed job (woken at once on acceptance), settled by notifications and the query job;
  // HIGH risk payouts wait for RISK_REVIEWED. Final statuses go out on the outbox (payout.final).
  const payouts = new PayoutsService({ db: store.db, clock, logger, ledger, merchants, risk, config, onFinal: () => relay.nudge() });
  relay.subscribe<RiskReviewedEvent>(RISK_REVIEWED, 'payouts.risk-reviewed', (message) => payouts.handleRiskReviewed(message));
  jobs.push(
    startIntervalJob('payouts.dispatch', config.payouts.jobIntervalMs, () => payouts.dispatchDue(), logger),
    startIntervalJob('payouts.query-processing', config.payouts.jobIntervalMs, () => payouts.queryDue(), logger),
    startSingletonJob(store.db, 'payouts.release-orphan-holds', Math.min(60_000, config.payouts.orphanHoldAfterS * 500), () => payouts.releaseOrphanHolds(), logger),
    { stop: () => payouts.stop() },
  );
  // Webhooks (SPEC 5): a payout's final status (published by payouts on the outbox) becomes one
  // event with one delivery per endpoint; the job sends due deliveries (claimed with SKIP LOCKED).
  const { pollIntervalMs: webhookPollMs, ...webhookSchedule } = config.webhooks;
  const webhooks = new WebhooksService({ db: store.db, clock, secrets: secretBox, options: { ...webhookSchedule, ...options.webhooks } });
  relay.subscribe<PayoutFinalMessage>(PAYOUT_FINAL, 'webhooks.payout-final', payoutFinalConsumer(store.db, webhooks));
  jobs.push(startIntervalJob('webhooks.deliver', webhookPollMs, () => webhooks.deliverDue(), logger));
  // Batch payouts (SPEC 5): an approved batch's rows become payouts through a claimed job (woken on
  // approval); rows follow their payouts on payout.final; a processed batch records its webhook event.
  const payoutBatches = new PayoutBatchesService({
    db: store.db,
    clock,
    logger,
    merchants,
    payouts,
    webhooks,
    options: { concurrency: config.payoutBatches.concurrency, leaseMs: config.payoutBatches.leaseMs },
  });
  relay.subscribe<BatchPayoutFinal>(PAYOUT_FINAL, 'payout-batches.payout-final', (message) => payoutBatches.handlePayoutFinal(message.payload));
  jobs.push(
    startIntervalJob('payout-batches.release', config.payouts.jobIntervalMs, () => payoutBatches.releaseDue(), logger),
    { stop: () => payoutBatches.stop() },
  );

  // Reconciliation files (SPEC 5): a line per payout final status (PAYOUT_FINAL); closed days are stored by the job or the first request.
  const { clock: reconciliationClock, ...reconciliationOptions } = options.reconciliation ?? {};
  const reconciliation = new ReconciliationService({
    db: store.db,
    clock: reconciliationClock ?? clock,
    options: { closeAfterS: config.reconciliation.closeAfterS, ...reconciliationOptions },
  });
  relay.subscribe<PayoutFinalPayload>(PAYOUT_FINAL, 'reconciliation.payout-final', reconciliationConsumer(reconciliation));
  jobs.push(startIntervalJob('reconciliation.close-days', config.reconciliation.jobIntervalMs, () => reconciliation.closeDueDays(), logger));
  // The payment core (SPEC 8): card payments for business modules through the simulated channels
  // (signed with the platform key, at the bank's /channels/{code}); PAYMENT_FINAL on the outbox.
  const channelCalls = new Counter({
    name: 'coffer_payment_channel_calls_total',
    help: 'Calls to card payment channels, by channel, operation and outcome (answered:<status>, unreachable, unknown)',
    labelNames: ['channel', 'operation', 'outcome'] as const,
    registers: [metrics.registry],
  });
  const payments = new PaymentsService({
    db: store.db,
    clock,
    logger,
    ledger,
    sms,
    connector: reportingConnector(
      new HttpChannelConnector({
        baseUrl: (code) => `${config.depository.bankUrl}/channels/${code}`,
        platformNo: config.depository.platformNo,
        platformPrivateKey: ensureKeyPair(config.depository.keysDir, 'platform').privateKey,
        bankPublicKey: new BankPublicKey(config.depository.bankPublicKeyPath, logger),
        timeoutMs: config.payments.channelTimeoutMs,
      }),
      (channel, operation, outcome) => channelCalls.labels({ channel, operation, outcome }).inc(),
    ),
    cards: secretBox,
    options: config.payments,
    onFinal: () => relay.nudge(),
  });
  jobs.push(
    startIntervalJob('payments.expire', config.payments.jobIntervalMs, () => payments.expireDue(), logger),
    startIntervalJob('payments.recover', config.payments.jobIntervalMs, () => payments.recoverDue(), logger),
    startIntervalJob('payments.release-coupon-locks', config.payments.jobIntervalMs, () => payments.releaseCouponLocks(), logger),
  );
  // Funding by bank transfer: the bank's signed TRANSFER_IN credits the named settlement account (or suspense).
  const funding = new FundingService({ db: store.db, clock, logger, ledger, config });

  // Savings products (SPEC 7): wallet orders move money at once; card orders wait for the payment
  // core's payment.final; jobs store status moves, expire unpaid orders and pay back matured holdings.
  const products = new ProductsService({
    db: store.db,
    clock,
    logger,
    ledger,
    assertUserCanMoveMoney: (userId, trx) => users.assertUserCanMoveMoney(userId, trx),
    payments,
    orders,
    options: config.products,
  });
  // Wallet accounts by currency and card top-ups: the payment core credits the wallet; its payment.final settles the order.
  const walletAccounts = new WalletAccounts({
    db: store.db,
    depositoryCurrency: wallets.currency,
    clock,
    logger,
    ledger,
    orders,
    payments,
    assertUserCanMoveMoney: (userId, trx) => users.assertUserCanMoveMoney(userId, trx),
  });
  relay.subscribe<PaymentFinalEvent>(PAYMENT_FINAL, 'wallets.card-recharge-final', (message) => walletAccounts.handlePaymentFinal(message.payload));
  relay.subscribe<PaymentFinalEvent>(PAYMENT_FINAL, 'products.payment-final', (message) => products.handlePaymentFinal(message.payload));
  jobs.push(
    startIntervalJob('products.statuses', config.products.jobIntervalMs, () => products.advanceProductStatuses(), logger),
    startIntervalJob('products.expire-unpaid', config.products.jobIntervalMs, () => products.expireUnpaid(), logger),
    startIntervalJob('products.maturity', config.products.jobIntervalMs, () => products.settleDueMaturities(), logger),
  );

  // The three-way settlement check (README "Three-way reconciliation"): ledger vs records vs the bank's
  // signed daily statement; the job checks yesterday once and re-checks days left PENDING.
  const settlementChecks = new SettlementCheckService({
    db: store.db,
    clock,
    logger,
    registry: metrics.registry,
    statements: new BankStatements({
      bankUrl: config.depository.bankUrl,
      platformNo: config.depository.platformNo,
      platformPrivateKey: ensureKeyPair(config.depository.keysDir, 'platform').privateKey,
      bankPublicKey: new BankPublicKey(config.depository.bankPublicKeyPath, logger),
    }),
    depository: agent,
    payouts,
    payments,
    ledger,
    options: { graceMs: config.settlementCheck.graceS * 1000, recheckDays: config.settlementCheck.recheckDays },
  });
  jobs.push(startIntervalJob('settlement-check.daily', config.settlementCheck.jobIntervalMs, () => settlementChecks.runDue(), logger));

  return {
    modules: [
      ledgerHttpModule(ledger),
      usersHttpModule(users, config),
      // Web UI (src/web): server-rendered pages over the modules' services.
      webHttpModule({
        publicUrl: config.publicUrl,
        ports: {
          users: usersPort(users),
          operators: operatorsPort(operators),
          portal: portalPort({ merchants, ledger, payouts, webhooks, db: store.db, clock }),
          batches: batchesPort(payoutBatches, { db: store.db, clock }),
          reconciliation,
        },
        walletsOverApi: true,
      }),
      depositoryHttpModule(agent, config.depository),
      walletsHttpModule(wallets),
      walletAccountsHttpModule(walletAccounts),
      ordersHttpModule(orders),
      merchantsHttpModule(merchants, operators),
      auditHttpModule(store.db),
      alertsHttpModule(store.db),
      smsHttpModule(sms, config),
      riskHttpModule(risk),
      payoutsHttpModule(payouts),
      webhooksHttpModule(webhooks),
      reconciliationHttpModule(reconciliation),
      fundingHttpModule(funding, merchants),
      payoutBatchesHttpModule(payoutBatches),
      paymentsHttpModule(payments),
      productsHttpModule(products),
      clockHttpModule(clock, config),
      settlementCheckHttpModule(settlementChecks),
    ],
    plugins: [userAuthPlugin(users), merchantAuthPlugin(merchants, operators), idempotencyPlugin(idempotency)],
    adminVerifiers: [operatorAdminVerifier(operators)],
    relay,
    jobs,
    payments,
    seedDemo: () => seedDemoPlatform({ merchants, operators, products, dataDir: config.dataDir, logger }),
  };
}

async function serve(config: Config, store: Store, logger: Logger, services: Services, metrics: Metrics): Promise<CofferApp> {
  const app = await buildHttpServer({
    config,
    store,
    logger,
    metrics,
    modules: services.modules,
    plugins: services.plugins,
    adminVerifiers: services.adminVerifiers,
    bus: services.relay,
  });
  try {
    await app.listen({ host: config.host, port: config.port });
    return app;
  } catch (err) {
    await app.close();
    throw err;
  }
}

/** The composition root: one Coffer server over one store. Tests start it in-process. */
export async function startCoffer(
  config: Config,
  logger: Logger = createLogger(config),
  options: StartOptions = {},
): Promise<RunningCoffer> {
  const store = await openStore({
    databaseUrl: config.databaseUrl,
    dataDir: config.dataDir,
    poolSize: config.databasePoolSize,
  });
  let app: CofferApp;
  let services: Services;
  try {
    await migrateToLatest(store, migrations);
    const metrics = createMetrics();
    services = buildServices(config, store, await SystemClock.load(store.db), logger, metrics, options);
    if (config.demoSeed && config.sandbox) await services.seedDemo();
    app = await serve(config, store, logger, services, metrics);
  } catch (err) {
    await store.close();
    throw err;
  }
  services.relay.start();
  const { port } = app.server.address() as AddressInfo;
  const url = `http://localhost:${port}`;
  logger.info({ url }, `Coffer listening on ${url} — docs at /docs`);

  let closing: Promise<void> | undefined;
  const close = () => {
    closing ??= (async () => {
      await app.close();
      await Promise.all([services.relay.stop(), ...services.jobs.map((job) => job.stop())]);
      await store.close();
    })();
    return closing;
  };
  return { app, store, url, payments: services.payments, close };
}

function exitOnSignals(coffer: RunningCoffer, logger: Logger): void {
  const shutdown = (signal: NodeJS.Signals) => {
    logger.info({ signal }, 'Coffer shutting down');
    setTimeout(() => {
      logger.error(`Shutdown took longer than ${SHUTDOWN_GRACE_MS} ms; exiting anyway`);
      process.exit(1);
    }, SHUTDOWN_GRACE_MS).unref();
    coffer.close().then(
      () => process.exit(0),
      (err: unknown) => {
        logger.error({ err }, 'Coffer did not shut down cleanly');
        process.exit(1);
      },
    );
  };
  process.once('SIGINT', shutdown);
  process.once('SIGTERM', shutdown);
}

/** Problems an operator can fix get one clear line, not a stack trace. */
function exitWithMessage(message: string): never {
  console.error(message);
  process.exit(1);
}

async function runFromCommandLine(): Promise<void> {
  let config: Config;
  try {
    config = loadConfig();
  } catch (err) {
    if (err instanceof ConfigError) exitWithMessage(`Configuration error: ${err.message}`);
    throw err;
  }
  const logger = createLogger(config);
  try {
    exitOnSignals(await startCoffer(config, logger), logger);
  } catch (err) {
    if (err instanceof StoreLockedError) exitWithMessage(err.message);
    logger.fatal({ err }, 'Coffer failed to start');
    process.exit(1);
  }
}

const runDirectly = process.argv[1] !== undefined && import.meta.url === pathToFileURL(process.argv[1]).href;
if (runDirectly) await runFromCommandLine();
