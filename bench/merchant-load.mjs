// A merchant's servers for a benchmark, in their own thread so their HTTP client work
// does not share Coffer's event loop: sends each request (already signed) over a pool
// of keep-alive connections, checks its status and reports each one's latency.
// Plain JavaScript so the worker needs no loader.
import http from 'node:http';
import { parentPort, workerData } from 'node:worker_threads';

const { port, requests, concurrency, expectStatus } = workerData;
const agent = new http.Agent({ keepAlive: true, maxSockets: concurrency });

function send({ method, path, headers, body }) {
  return new Promise((resolve, reject) => {
    const request = http.request({ host: '127.0.0.1', port, method, path, headers, agent }, (response) => {
      let text = '';
      response.setEncoding('utf8');
      response.on('data', (chunk) => (text += chunk));
      response.on('end', () => resolve({ status: response.statusCode ?? 0, body: text }));
      response.on('error', reject);
    });
    request.on('error', reject);
    request.end(body);
  });
}

await new Promise((resolve) => {
  parentPort.once('message', resolve); // "go": the timer starts on the other side
  parentPort.postMessage({ ready: true });
});
const latencies = new Array(requests.length);
let next = 0;
const started = performance.now();
await Promise.all(
  Array.from({ length: concurrency }, async () => {
    while (next < requests.length) {
      const i = next++;
      const t0 = performance.now();
      const reply = await send(requests[i]);
      if (reply.status !== expectStatus) throw new Error(`request ${i} answered ${reply.status}: ${reply.body}`);
      latencies[i] = performance.now() - t0;
    }
  }),
);
agent.destroy();
parentPort.postMessage({ elapsedMs: performance.now() - started, latencies });
