import { ProblemSchema } from '../../platform/http/problem.ts';
import type { HttpModule } from '../../platform/http/server.ts';
import { currentUser, userSecurity } from '../users/index.ts';
import * as s from './orders.schemas.ts';
import type { OrdersService } from './orders.service.ts';
import { orderDetailView, orderView } from './orders.views.ts';

const problems = { 400: ProblemSchema, 401: ProblemSchema, 404: ProblemSchema };

/** GET /my/orders and /my/orders/{id}: the logged-in user's transaction orders. */
export function ordersHttpModule(orders: OrdersService): HttpModule {
  return {
    name: 'orders',
    register(app) {
      const schema = { tags: ['wallet'], security: userSecurity };
      app.get(
        '/my/orders',
        { preHandler: app.requireUser, schema: { ...schema, summary: 'My transaction orders, newest first, by status, type and currency', querystring: s.OrderQuery, response: { 200: s.OrderPage, ...problems } } },
        async (request) => {
          const page = await orders.list(currentUser(request).id, request.query);
          return { data: page.data.map(orderView), hasMore: page.hasMore };
        },
      );
      app.get(
        '/my/orders/:id',
        { preHandler: app.requireUser, schema: { ...schema, summary: 'One of my orders with its ledger transfers and their entries on my accounts', params: s.OrderParams, response: { 200: s.OrderDetailView, ...problems } } },
        async (request) => orderDetailView(await orders.detail(currentUser(request).id, request.params.id)),
      );
    },
  };
}
