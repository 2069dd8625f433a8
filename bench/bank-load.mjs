// The bank's side of a benchmark, in its own thread so its HTTP client work does not
// share Coffer's event loop: GETs each path over a pool of keep-alive connections and
// reports each request's latency. Plain JavaScript so the worker needs no loader.
import http from 'node:http';
import { parentPort, workerData } from 'node:worker_threads';

const { port, paths, concurrency } = workerData;
const agent = new http.Agent({ keepAlive: true, maxSockets: concurrency });

function get(path) {
  return new Promise((resolve, reject) => {
    const request = http.get({ host: '127.0.0.1', port, path, agent }, (response) => {
      let body = '';
      response.setEncoding('utf8');
      response.on('data', (chunk) => (body += chunk));
      response.on('end', () => resolve({ status: response.statusCode ?? 0, body }));
      response.on('error', reject);
    });
    request.on('error', reject);
  });
}

await new Promise((resolve) => {
  parentPort.once('message', resolve); // "go": the timer starts on the other side
  parentPort.postMessage({ ready: true });
});
const latencies = new Array(paths.length);
let next = 0;
const started = performance.now();
await Promise.all(
  Array.from({ length: concurrency }, async () => {
    while (next < paths.length) {
      const i = next++;
      const t0 = performance.now();
      const reply = await get(paths[i]);
      if (reply.status !== 200 || reply.body !== 'OK') throw new Error(`notification answered ${reply.status}: ${reply.body}`);
      latencies[i] = performance.now() - t0;
    }
  }),
);
agent.destroy();
parentPort.postMessage({ elapsedMs: performance.now() - started, latencies });
