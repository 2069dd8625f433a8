/**
 * The demo platform `npm start` seeds (DEMO_SEED=1, sandbox only), so a person
 * can click through the console and the portal at once: an admin operator, an
 * ACTIVE merchant with both payout products and 100,000.00 CNY in its
 * settlement account, and its maker, checker and viewer; and two savings
 * products on the shelf, on sale. Passwords are random,
 * made once, and kept in DATA_DIR/demo-operators.json (mode 600); every start
 * prints where they are. Safe to run on every start: what exists is kept.
 */
import { randomBytes } from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import { isDomainError } from './platform/errors.ts';
import type { Logger } from './platform/log.ts';
import type { Actor, MerchantsService, OperatorsService } from './modules/merchants/index.ts';
import type { ProductInput, ProductsService } from './modules/products/index.ts';

const DEMO_MERCHANT = 'Demo Shop';
const SEEDER: Actor = { principal: { kind: 'system', id: 'demo-seed' } };
const ROLES = ['admin', 'maker', 'checker', 'viewer'] as const;

interface DemoCredentials {
  merchantId: string;
  operators: { username: string; password: string; role: (typeof ROLES)[number] }[];
}

const DEMO_PRODUCTS: ProductInput[] = [
  { code: 'DEMO-30D', name: 'Demo 30-day savings', currency: 'CNY', annualRate: '3.65', termDays: 30, minAmount: '100.00', stepAmount: '100.00', totalAmount: '1000000.00', dayCount: 'ACT/365', acceptorBank: 'Demo Bank' },
  { code: 'DEMO-90D', name: 'Demo 90-day savings', currency: 'CNY', annualRate: '4.20', termDays: 90, minAmount: '1000.00', stepAmount: '500.00', totalAmount: '200000.00', dayCount: 'ACT/360', acceptorBank: 'Demo Bank' },
];

export interface DemoDeps {
  merchants: MerchantsService;
  operators: OperatorsService;
  products: ProductsService;
  dataDir: string;
  logger: Logger;
}

export async function seedDemoPlatform(deps: DemoDeps): Promise<void> {
  const file = path.join(deps.dataDir, 'demo-operators.json');
  const credentials = readCredentials(file) ?? (await newCredentials(deps.merchants));
  fs.writeFileSync(file, `${JSON.stringify(credentials, null, 2)}\n`, { mode: 0o600 });

  const { merchants, operators } = deps;
  await merchants.activate(credentials.merchantId, SEEDER);
  // The request key makes the funding happen once however often this runs.
  await merchants.adjust(credentials.merchantId, { amount: '100000.00', currency: 'CNY', reason: 'demo funding' }, SEEDER, 'demo-seed-funding');
  for (const operator of credentials.operators) {
    const merchantId = operator.role === 'admin' ? undefined : credentials.merchantId;
    await operators.create({ ...operator, merchantId }, SEEDER).catch((err: unknown) => {
      if (!isDomainError(err, 'OPERATOR_ALREADY_EXISTS')) throw err;
    });
  }
  for (const input of DEMO_PRODUCTS) await seedProduct(deps.products, input);
  deps.logger.info(
    { file, usernames: credentials.operators.map((o) => o.username), merchantId: credentials.merchantId },
    `demo platform ready: operators log in at /ui/operator/login with the passwords in ${file}`,
  );
}

/** Creates the product once and puts it on the shelf (again, if an operator took it off: a demo shows it). */
async function seedProduct(products: ProductsService, input: ProductInput): Promise<void> {
  await products.createProduct(input).catch((err: unknown) => {
    if (!isDomainError(err, 'PRODUCT_CODE_TAKEN')) throw err;
  });
  await products.setShelf(input.code, true);
}

function readCredentials(file: string): DemoCredentials | undefined {
  if (!fs.existsSync(file)) return undefined;
  return JSON.parse(fs.readFileSync(file, 'utf8')) as DemoCredentials;
}

async function newCredentials(merchants: MerchantsService): Promise<DemoCredentials> {
  const merchant = await merchants.createMerchant({ name: DEMO_MERCHANT, products: ['PAYOUT_SINGLE', 'PAYOUT_BATCH'] }, SEEDER);
  return {
    merchantId: merchant.id,
    operators: ROLES.map((role) => ({ username: role === 'admin' ? 'admin' : `demo-${role}`, password: randomBytes(12).toString('base64url'), role })),
  };
}
