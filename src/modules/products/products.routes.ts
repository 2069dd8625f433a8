import { adminIdempotencyScope } from '../../platform/http/idempotency.ts';
import type { FastifyRequest } from 'fastify';
import { adminSecurity } from '../../platform/http/auth.ts';
import { ProblemSchema } from '../../platform/http/problem.ts';
import type { HttpModule } from '../../platform/http/server.ts';
import { assertCanMoveMoney, currentUser, userSecurity } from '../users/index.ts';
import { contractHtml, contractPdf } from './products.contract.tsx';
import * as s from './products.schemas.ts';
import type { ProductsService } from './products.service.ts';
import { holdingView, productView, quoteView } from './products.views.ts';

const problems = { 400: ProblemSchema, 401: ProblemSchema, 403: ProblemSchema, 404: ProblemSchema, 409: ProblemSchema, 422: ProblemSchema };
const retrySafe = 'Accepts an `Idempotency-Key` header: the same key and body again answers the first answer.';


/** Savings products (SPEC 7, a contract): the public catalogue, the user's subscriptions, the admin console's API. */
export function productsHttpModule(products: ProductsService): HttpModule {
  return {
    name: 'products',
    register(app) {
      const product = (p: Parameters<typeof productView>[1]) => productView(products, p);
      const holding = (h: Parameters<typeof holdingView>[1]) => holdingView(products, h);

      // ---- public catalogue
      const catalogue = ['products'];
      app.get(
        '/products',
        { schema: { tags: catalogue, summary: 'Products on the shelf, paged', querystring: s.PageQuery, response: { 200: s.ProductPage, ...problems } } },
        async (request) => {
          const page = request.query.page ?? 1;
          const size = request.query.size ?? 10;
          const { rows, total } = await products.listProducts({ page, size, onShelfOnly: true });
          return { data: rows.map(product), page, size, total };
        },
      );
      app.get(
        '/products/:idOrCode',
        { schema: { tags: catalogue, summary: 'One product on the shelf, by id or code', params: s.IdOrCodeParams, response: { 200: s.ProductView, ...problems } } },
        async (request) => product(await products.product(request.params.idOrCode)),
      );
      app.get(
        '/products/:idOrCode/quote',
        {
          schema: {
            tags: catalogue,
            summary: 'Expected interest, value and maturity dates and the amount at maturity for an amount bought now',
            params: s.IdOrCodeParams,
            querystring: s.QuoteQuery,
            response: { 200: s.QuoteView, ...problems },
          },
        },
        async (request) => quoteView(await products.quote(request.params.idOrCode, request.query.amount)),
      );

      // ---- the user's subscriptions
      const mine = { preHandler: app.requireUser };
      const mySchema = { tags: ['subscriptions'], security: userSecurity };
      const idem = app.idempotent((request) => `user:${currentUser(request).id}`);
      app.post(
        '/my/subscriptions',
        {
          preHandler: [app.requireUser, idem.preHandler],
          onSend: idem.onSend,
          schema: {
            ...mySchema,
            summary: 'Buy a product: WALLET is PAID at once; CARD starts AWAITING_PAYMENT with a payOrderNo to pay at /my/payments/{payOrderNo}',
            description: `${retrySafe} The amount is the minimum plus a whole number of steps.`,
            body: s.SubscribeBody,
            response: { 201: s.HoldingView, ...problems },
          },
        },
        async (request, reply) => {
          const user = currentUser(request);
          assertCanMoveMoney(user);
          return reply.code(201).send(holding(await products.subscribe(user.id, request.body, request.idempotencyClaim?.key)));
        },
      );
      app.get(
        '/my/subscriptions',
        { ...mine, schema: { ...mySchema, summary: 'My holdings, newest first, with earnings to date', querystring: s.HoldingListQuery, response: { 200: s.HoldingPage, ...problems } } },
        async (request) => {
          const page = await products.subscriptionsOf(currentUser(request).id, request.query);
          return { data: page.data.map(holding), hasMore: page.hasMore };
        },
      );
      app.get(
        '/my/subscriptions/:id',
        { ...mine, schema: { ...mySchema, summary: 'One of my holdings', params: s.IdParams, response: { 200: s.HoldingView, ...problems } } },
        async (request) => holding(await products.subscriptionOf(currentUser(request).id, request.params.id)),
      );
      app.get(
        '/my/subscriptions/:id/contract',
        { ...mine, schema: { ...mySchema, summary: 'The contract of one of my orders (HTML page)', params: s.IdParams } },
        async (request, reply) => {
          const { view, party } = await contractOf(request);
          return reply
            .type('text/html; charset=utf-8')
            .header('cache-control', 'no-store')
            .header('content-security-policy', "default-src 'none'; style-src 'unsafe-inline'")
            .send(contractHtml(view, party));
        },
      );
      app.get(
        '/my/subscriptions/:id/contract.pdf',
        { ...mine, schema: { ...mySchema, summary: 'The contract of one of my orders (PDF download)', params: s.IdParams } },
        async (request, reply) => {
          const { view, party } = await contractOf(request);
          return reply
            .type('application/pdf')
            .header('content-disposition', `attachment; filename="contract-${view.id}.pdf"`)
            .header('cache-control', 'no-store')
            .send(await contractPdf(view, party));
        },
      );
      async function contractOf(request: FastifyRequest<{ Params: { id: string } }>) {
        const user = currentUser(request);
        const order = await products.subscriptionOf(user.id, request.params.id);
        const bought = await products.adminProduct(order.productId);
        return { view: holding(order), party: { userId: user.id, acceptorBank: bought.acceptorBank } };
      }

      // ---- admin
      const admin = { preHandler: app.requireAdmin };
      const adminSchema = { tags: ['products (admin)'], security: adminSecurity };
      const adminIdem = app.idempotent(adminIdempotencyScope);
      app.post(
        '/admin/products',
        {
          preHandler: [app.requireAdmin, adminIdem.preHandler],
          onSend: adminIdem.onSend,
          schema: { ...adminSchema, summary: 'Create a product (off the shelf; PRESALE until saleStart)', description: retrySafe, body: s.CreateProductBody, response: { 201: s.CreatedProduct, ...problems } },
        },
        async (request, reply) => {
          const created = await products.createProduct(request.body);
          return reply.code(201).send({ id: created.id, code: created.code, status: products.effectiveStatus(created) });
        },
      );
      app.get(
        '/admin/products',
        { ...admin, schema: { ...adminSchema, summary: 'Every product, on the shelf or not, paged', querystring: s.PageQuery, response: { 200: s.ProductPage, ...problems } } },
        async (request) => {
          const page = request.query.page ?? 1;
          const size = request.query.size ?? 10;
          const { rows, total } = await products.listProducts({ page, size, onShelfOnly: false });
          return { data: rows.map(product), page, size, total };
        },
      );
      app.get(
        '/admin/products/:id',
        { ...admin, schema: { ...adminSchema, summary: 'One product (by id or code)', params: s.IdParams, response: { 200: s.ProductView, ...problems } } },
        async (request) => product(await products.adminProduct(request.params.id)),
      );
      app.put(
        '/admin/products/:id',
        {
          ...admin,
          schema: {
            ...adminSchema,
            summary: 'Edit a product nobody has bought into yet, at the version read',
            description: 'A stale version is 409 PRODUCT_VERSION_CONFLICT; a product with sold or reserved amounts, or ENDED, is 409 PRODUCT_NOT_EDITABLE.',
            params: s.IdParams,
            body: s.UpdateProductBody,
            response: { 200: s.ProductView, ...problems },
          },
        },
        async (request) => product(await products.updateProduct(request.params.id, request.body)),
      );
      app.post(
        '/admin/products/:id/shelf',
        { ...admin, schema: { ...adminSchema, summary: 'Put a product on the shelf or take it off', params: s.IdParams, body: s.ShelfBody, response: { 200: s.ProductView, ...problems } } },
        async (request) => product(await products.setShelf(request.params.id, request.body.onShelf)),
      );
      app.post(
        '/admin/products/maturity-run',
        {
          ...admin,
          schema: {
            ...adminSchema,
            summary: 'Run the maturity job now (it also runs on its own schedule): pays back every holding due by the business clock',
            response: { 200: s.MaturityRunView, ...problems },
          },
        },
        async () => ({ settled: await products.settleDueMaturities() }),
      );
    },
  };
}
