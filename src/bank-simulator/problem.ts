import type { FastifyReply } from 'fastify';

/** RFC 9457 problem details for the simulator's JSON endpoints. */
export function sendProblem(reply: FastifyReply, status: number, code: string, detail: string): FastifyReply {
  return reply
    .code(status)
    .header('content-type', 'application/problem+json; charset=utf-8')
    .send({ type: `about:blank#${code}`, title: code, status, code, detail, instance: reply.request.url.split('?')[0] });
}
