import path from 'node:path';
import { bool, ConfigError, type Env, int, oneOf, url } from './env.ts';

/**
 * Every setting Coffer reads, from environment variables, validated once at start.
 * A bad value stops the process with a message naming the variable.
 */
export interface Config {
  port: number;
  host: string;
  bankPort: number;
  dataDir: string;
  /** A PostgreSQL server; undefined means the embedded store in `dataDir`. */
  databaseUrl: string | undefined;
  databasePoolSize: number;
  publicUrl: string;
  bankPublicUrl: string;
  /** Bootstrap admin credential for automation; undefined means none. */
  adminToken: string | undefined;
  logLevel: string;
  sandbox: boolean;
  /** Seed the demo platform (operators, a funded merchant) at start: `npm start` sets DEMO_SEED=1; sandbox only. */
  demoSeed: boolean;
  ledger: {
    /** 'group' gathers concurrent transfers into one database transaction. */
    commitMode: 'group' | 'single';
    maxBatchSize: number;
    /** Group-commit batches in flight at once on a PostgreSQL server (the embedded store takes one). */
    batchConcurrency: number;
    pendingExpiryIntervalMs: number;
    /** How often every invariant and the journal's hash chains are checked (0: never). */
    monitorIntervalMs: number;
  };
  depository: {
    /** This platform's number at the bank depository. */
    platformNo: string;
    /** The bank's address for server-to-server calls (status queries). */
    bankUrl: string;
    /** Where the platform's key pair lives (generated on first start). */
    keysDir: string;
    /** The bank's public key: all Coffer needs of the bank to believe it. */
    bankPublicKeyPath: string;
    /** Records still PENDING this long are queried from the bank. */
    queryAfterS: number;
    queryIntervalMs: number;
    /** How long the bank may act on a signed request (its `expiresAt`). */
    requestTtlS: number;
    /** Room for the bank's clock and Coffer's to disagree before an expired request is closed. */
    expiryGraceS: number;
    /** A withdrawal hold this old with no withdrawal record (a crash between the two) is released. */
    orphanHoldAfterS: number;
    /** Currency of the bank's money (recharges and withdrawals). */
    currency: string;
    /** Flat fee per withdrawal, a decimal string in `currency`. */
    withdrawFee: string;
  };
  users: {
    sessionTtlMs: number;
    /** Consecutive wrong passwords that lock a login. */
    maxFailedLogins: number;
    lockoutMs: number;
  };
  outbox: {
    pollIntervalMs: number;
    maxAttempts: number;
    leaseMs: number;
  };
  /** Where outbox messages go after commit: the in-process relay, or NATS JetStream for many processes. */
  eventBus: {
    kind: 'outbox' | 'nats';
    natsUrl: string;
    natsStream: string;
    /** Messages of topic T go to subject `<prefix>.T`. */
    natsSubjectPrefix: string;
  };
  merchants: {
    /**
     * AES-256-GCM key that encrypts merchants' API secrets at rest: base64 of 32 bytes
     * from MERCHANT_SECRETS_KEY, else read from (or made on first start in) `secretsKeyPath`.
     */
    secretsKey: string | undefined;
    secretsKeyPath: string;
    /** Signed requests whose X-Coffer-Timestamp is further than this from now are refused. */
    signatureWindowS: number;
  };
  idempotency: {
    /** How long an in-flight Idempotency-Key claim holds before a retry may take it over. */
    leaseMs: number;
    /** Stored responses older than this are purged (the key may then be used afresh). */
    retentionMs: number;
  };
  sms: {
    /** How long a one-time code verifies. */
    codeTtlS: number;
    /** Wrong codes allowed per challenge (the right code counts too). */
    maxAttempts: number;
    /** Minimum wait between two codes for one (purpose, subject). */
    resendCooldownS: number;
    /** HMAC key for stored code hashes; unset means a key file generated in the keys folder. */
    codeKey: string | undefined;
  };
  webhooks: {
    /** One delivery attempt's whole time (connect, send, answer). */
    timeoutMs: number;
    /** How often the delivery job looks for due deliveries. */
    pollIntervalMs: number;
    /** First retry delay before jitter; doubles per attempt up to `maxDelayMs`. */
    baseDelayMs: number;
    maxDelayMs: number;
    /** From a delivery's creation to DEAD: at least 24 h in production. */
    windowMs: number;
    /** Multiplies every delay, the window and Retry-After: 1 in production, small in tests. */
    scale: number;
    /** Deliveries may go to loopback, private and link-local addresses (sandbox demos); refused otherwise. */
    allowInternalAddresses: boolean;
  };
  risk: {
    /** Where a risk "day" (daily amount and count) starts: minutes east of UTC, default +08:00 (China). */
    dayUtcOffsetMinutes: number;
  };
  /** Merchant payouts through the bank's payout channel (SPEC 5; the bank's address and keys are `depository`'s). */
  payouts: {
    /** How long an order to the bank may take before its outcome is unknown (then it is queried, never re-sent elsewhere). */
    orderTimeoutMs: number;
    /** A PROCESSING payout is first queried this long after it was sent; later queries back off (doubling, at most an hour). */
    queryAfterMs: number;
    /**
     * A SUCCEEDED payout is queried again for this long after its success (0: never), so a reversal the bank
     * could not notify (every notification failed) is still learned; the first such query comes
     * `reversalQueryAfterMs` after the success, each later one twice as long after it as the one before.
     */
    reversalWatchMs: number;
    reversalQueryAfterMs: number;
    /** How often the dispatch and query jobs look for due payouts (acceptance also wakes the dispatcher at once). */
    jobIntervalMs: number;
    /** A payout hold this old without its payout record (a crash between the two) is released. */
    orphanHoldAfterS: number;
  };
  /** Daily reconciliation files (SPEC 5). */
  reconciliation: {
    /** Day D's file closes (is stored and never changes) at D+1 00:00 UTC + this many seconds. */
    closeAfterS: number;
    /** How often the job closes due days. */
    jobIntervalMs: number;
  };
  /** The three-way settlement check (ledger vs records vs the bank's statement). */
  settlementCheck: {
    /** How long a source may lag the others before a disagreement about an outcome is a break. */
    graceS: number;
    /** How often the job looks for a day to check (yesterday, once; days left PENDING, again). */
    jobIntervalMs: number;
    /** How many days back days left PENDING are checked again. */
    recheckDays: number;
  };
  /** Batch payouts (SPEC 5). */
  payoutBatches: {
    /** Rows of approved batches handed to the payouts module at once, per process. */
    concurrency: number;
    /** How long a process holds the rows it claimed before another may take them over (it died). */
    leaseMs: number;
  };
  /** The payment core (SPEC 8; channels at `${depository.bankUrl}/channels/{code}`, signed with the platform key). */
  payments: {
    /** How long a channel call may take before its outcome is unknown (then it is queried, never sent elsewhere). */
    channelTimeoutMs: number;
    /** How long one confirm owns its order (keep it above channelTimeoutMs); past it the recovery job settles the order. */
    confirmLeaseMs: number;
    /** How often a payment whose outcome is unknown is queried at its channel. */
    queryRetryMs: number;
    /** A coupon lock of a payment not in a channel call is released after this long (PAYMENT_COUPON_LOCK_TTL_S). */
    couponLockTtlMs: number;
    /** How often the expiry, recovery and coupon-lock jobs run. */
    jobIntervalMs: number;
    /** Circuit breaker per channel: opens after `failureThreshold` channel-side failures within `windowMs`, half-opens after `coolDownMs`. */
    circuit: { failureThreshold: number; windowMs: number; coolDownMs: number; trialMs: number };
    /** Seeds the weighted routing draw so a run replays; unset: random. */
    routingSeed: number | undefined;
  };
  /** Savings products and subscriptions (SPEC 7). */
  products: {
    /** A card subscription not paid within this many minutes is cancelled and its reservation released. */
    unpaidExpiryMinutes: number;
    /** A wallet subscription whose payment was cut short (a crash) is finished or undone after this. */
    walletRecoveryAfterS: number;
    /** How often the jobs run: product statuses, unpaid expiry, maturity (which also catches up on missed days). */
    jobIntervalMs: number;
  };
  /** The business clock (sandbox test clock): how often a process re-reads the stored offset. */
  clock: { refreshMs: number };
}

export { ConfigError } from './env.ts';

export function loadConfig(env: Env = process.env): Config {
  const port = int(env, 'PORT', 3000, 0, 65535);
  const bankPort = int(env, 'BANK_PORT', 3001, 0, 65535);
  const databaseUrl = env.DATABASE_URL || undefined;
  if (databaseUrl && !/^postgres(ql)?:\/\//.test(databaseUrl)) {
    throw new ConfigError(`DATABASE_URL must be a postgres:// URL, got "${databaseUrl}"`);
  }
  return {
    port,
    host: env.HOST || '127.0.0.1',
    bankPort,
    dataDir: path.resolve(env.DATA_DIR || './data'),
    databaseUrl,
    databasePoolSize: int(env, 'DATABASE_POOL_SIZE', 10, 1, 500),
    publicUrl: url(env, 'PUBLIC_URL', `http://localhost:${port}`),
    bankPublicUrl: url(env, 'BANK_PUBLIC_URL', `http://localhost:${bankPort}`),
    adminToken: env.ADMIN_TOKEN || undefined,
    logLevel: oneOf(env, 'LOG_LEVEL', ['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent'], 'info'),
    sandbox: bool(env, 'SANDBOX', true),
    demoSeed: bool(env, 'DEMO_SEED', false),
    ledger: {
      commitMode: oneOf(env, 'LEDGER_COMMIT_MODE', ['group', 'single'], 'group'),
      maxBatchSize: int(env, 'LEDGER_MAX_BATCH', 2000, 1, 100_000),
      batchConcurrency: int(env, 'LEDGER_BATCH_CONCURRENCY', 2, 1, 16),
      pendingExpiryIntervalMs: int(env, 'LEDGER_PENDING_EXPIRY_INTERVAL_MS', 1000, 10),
      monitorIntervalMs: int(env, 'LEDGER_MONITOR_INTERVAL_S', 300, 0, 86_400) * 1000,
    },
    depository: {
      platformNo: env.PLATFORM_NO || 'coffer',
      bankUrl: url(env, 'BANK_URL', `http://127.0.0.1:${bankPort}`),
      keysDir: path.resolve(env.KEYS_DIR || path.join(env.DATA_DIR || './data', 'keys')),
      bankPublicKeyPath: path.resolve(
        env.BANK_PUBLIC_KEY_PATH || path.join(env.DATA_DIR || './data', 'bank', 'keys', 'bank-public.pem'),
      ),
      queryAfterS: int(env, 'DEPOSITORY_QUERY_AFTER_S', 300, 1),
      queryIntervalMs: int(env, 'DEPOSITORY_QUERY_INTERVAL_MS', 10_000, 10),
      requestTtlS: int(env, 'DEPOSITORY_REQUEST_TTL_S', 1800, 1),
      expiryGraceS: int(env, 'DEPOSITORY_EXPIRY_GRACE_S', 120, 0),
      orphanHoldAfterS: int(env, 'DEPOSITORY_ORPHAN_HOLD_AFTER_S', 600, 1),
      currency: env.DEPOSITORY_CURRENCY || 'CNY',
      withdrawFee: env.WITHDRAW_FEE || '2.00',
    },
    users: {
      sessionTtlMs: int(env, 'USER_SESSION_TTL_S', 24 * 3600, 60, 366 * 86_400) * 1000,
      maxFailedLogins: int(env, 'USER_MAX_FAILED_LOGINS', 5, 1, 100),
      lockoutMs: int(env, 'USER_LOCKOUT_S', 15 * 60, 1, 366 * 86_400) * 1000,
    },
    outbox: {
      pollIntervalMs: int(env, 'OUTBOX_POLL_INTERVAL_MS', 250, 5),
      maxAttempts: int(env, 'OUTBOX_MAX_ATTEMPTS', 20, 1),
      leaseMs: int(env, 'OUTBOX_LEASE_MS', 30_000, 100),
    },
    eventBus: {
      kind: oneOf(env, 'EVENT_BUS', ['outbox', 'nats'], 'outbox'),
      natsUrl: url(env, 'NATS_URL', 'nats://127.0.0.1:4222'),
      natsStream: natsName(env, 'NATS_STREAM', 'COFFER_EVENTS', /^[A-Za-z0-9_-]+$/),
      natsSubjectPrefix: natsName(env, 'NATS_SUBJECT_PREFIX', 'coffer.events', /^[A-Za-z0-9_-]+(\.[A-Za-z0-9_-]+)*$/),
    },
    merchants: {
      secretsKey: secretsKey(env.MERCHANT_SECRETS_KEY),
      secretsKeyPath: path.resolve(
        env.MERCHANT_SECRETS_KEY_PATH || path.join(env.KEYS_DIR || path.join(env.DATA_DIR || './data', 'keys'), 'merchant-secrets.key'),
      ),
      signatureWindowS: int(env, 'MERCHANT_SIGNATURE_WINDOW_S', 300, 1, 3600),
    },
    idempotency: {
      leaseMs: int(env, 'IDEMPOTENCY_LEASE_MS', 60_000, 10),
      retentionMs: int(env, 'IDEMPOTENCY_RETENTION_H', 24, 1) * 60 * 60 * 1000,
    },
    sms: {
      codeTtlS: int(env, 'SMS_CODE_TTL_S', 300, 10, 24 * 3600),
      maxAttempts: int(env, 'SMS_MAX_ATTEMPTS', 5, 1, 100),
      resendCooldownS: int(env, 'SMS_RESEND_COOLDOWN_S', 60, 0, 3600),
      codeKey: env.SMS_CODE_KEY || undefined,
    },
    webhooks: {
      timeoutMs: int(env, 'WEBHOOK_TIMEOUT_MS', 10_000, 50, 120_000),
      pollIntervalMs: int(env, 'WEBHOOK_POLL_INTERVAL_MS', 1000, 5),
      baseDelayMs: int(env, 'WEBHOOK_RETRY_BASE_MS', 10_000, 1),
      maxDelayMs: int(env, 'WEBHOOK_RETRY_MAX_MS', 60 * 60 * 1000, 1),
      windowMs: int(env, 'WEBHOOK_RETRY_WINDOW_S', 24 * 3600, 1) * 1000,
      scale: retryScale(env.WEBHOOK_RETRY_SCALE),
      allowInternalAddresses: bool(env, 'WEBHOOK_ALLOW_INTERNAL_ADDRESSES', bool(env, 'SANDBOX', true)),
    },
    risk: {
      dayUtcOffsetMinutes: int(env, 'RISK_DAY_UTC_OFFSET_MINUTES', 480, 0, 14 * 60),
    },
    payouts: {
      orderTimeoutMs: int(env, 'PAYOUT_ORDER_TIMEOUT_MS', 10_000, 50, 600_000),
      queryAfterMs: int(env, 'PAYOUT_QUERY_AFTER_MS', 30_000, 10, 86_400_000),
      jobIntervalMs: int(env, 'PAYOUT_JOB_INTERVAL_MS', 1_000, 10, 3_600_000),
      reversalWatchMs: int(env, 'PAYOUT_REVERSAL_WATCH_MS', 3 * 86_400_000, 0, 90 * 86_400_000),
      reversalQueryAfterMs: int(env, 'PAYOUT_REVERSAL_QUERY_AFTER_MS', 600_000, 10, 86_400_000),
      orphanHoldAfterS: int(env, 'PAYOUT_ORPHAN_HOLD_AFTER_S', 600, 1),
    },
    reconciliation: {
      closeAfterS: int(env, 'RECONCILIATION_CLOSE_AFTER_S', 3600, 0, 7 * 86_400),
      jobIntervalMs: int(env, 'RECONCILIATION_JOB_INTERVAL_MS', 60_000, 10),
    },
    settlementCheck: {
      graceS: int(env, 'SETTLEMENT_CHECK_GRACE_S', 900, 0, 7 * 86_400),
      jobIntervalMs: int(env, 'SETTLEMENT_CHECK_INTERVAL_MS', 600_000, 1000),
      recheckDays: int(env, 'SETTLEMENT_CHECK_RECHECK_DAYS', 3, 1, 31),
    },
    payoutBatches: {
      concurrency: int(env, 'PAYOUT_BATCH_CONCURRENCY', 16, 1, 256),
      leaseMs: int(env, 'PAYOUT_BATCH_LEASE_MS', 60_000, 100, 3_600_000),
    },
    payments: {
      channelTimeoutMs: int(env, 'PAYMENT_CHANNEL_TIMEOUT_MS', 10_000, 50, 120_000),
      confirmLeaseMs: int(env, 'PAYMENT_CONFIRM_LEASE_MS', 30_000, 100, 3_600_000),
      queryRetryMs: int(env, 'PAYMENT_QUERY_RETRY_MS', 5_000, 10, 3_600_000),
      couponLockTtlMs: int(env, 'PAYMENT_COUPON_LOCK_TTL_S', 900, 1, 86_400) * 1000,
      jobIntervalMs: int(env, 'PAYMENT_JOB_INTERVAL_MS', 1_000, 10, 3_600_000),
      circuit: {
        failureThreshold: int(env, 'PAYMENT_CIRCUIT_FAILURES', 5, 1, 1000),
        windowMs: int(env, 'PAYMENT_CIRCUIT_WINDOW_MS', 60_000, 10, 86_400_000),
        coolDownMs: int(env, 'PAYMENT_CIRCUIT_COOL_DOWN_MS', 30_000, 10, 86_400_000),
        trialMs: int(env, 'PAYMENT_CIRCUIT_TRIAL_MS', 15_000, 10, 3_600_000),
      },
      routingSeed: env.PAYMENT_ROUTING_SEED ? int(env, 'PAYMENT_ROUTING_SEED', 0, 0, 2 ** 31 - 1) : undefined,
    },
    products: {
      unpaidExpiryMinutes: int(env, 'PRODUCT_UNPAID_EXPIRY_MINUTES', 15, 1, 24 * 60),
      walletRecoveryAfterS: int(env, 'PRODUCT_WALLET_RECOVERY_AFTER_S', 60, 1, 86_400),
      jobIntervalMs: int(env, 'PRODUCT_JOB_INTERVAL_MS', 5_000, 10, 3_600_000),
    },
    clock: { refreshMs: int(env, 'CLOCK_REFRESH_MS', 2_000, 10, 600_000) },
  };
}

/** MERCHANT_SECRETS_KEY, when set, must be base64 of exactly 32 bytes (an AES-256 key). */
function natsName(env: Env, name: string, fallback: string, pattern: RegExp): string {
  const value = env[name] || fallback;
  if (!pattern.test(value)) throw new ConfigError(`${name} must match ${pattern.source}, got "${value}"`);
  return value;
}

function secretsKey(value: string | undefined): string | undefined {
  if (!value) return undefined;
  if (!/^[A-Za-z0-9+/]+={0,2}$/.test(value) || Buffer.from(value, 'base64').length !== 32) {
    throw new ConfigError('MERCHANT_SECRETS_KEY must be base64 of 32 random bytes (e.g. `openssl rand -base64 32`)');
  }
  return value;
}

/** WEBHOOK_RETRY_SCALE: a number in (0, 1]; 1 (the real schedule) when unset. */
function retryScale(value: string | undefined): number {
  if (!value) return 1;
  const scale = Number(value);
  if (!/^\d*\.?\d+(e-?\d+)?$/i.test(value) || !(scale > 0 && scale <= 1)) {
    throw new ConfigError(`WEBHOOK_RETRY_SCALE must be a number in (0, 1], got "${value}"`);
  }
  return scale;
}
