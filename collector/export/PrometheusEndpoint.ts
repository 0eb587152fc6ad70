/**
 * A Prometheus scrape endpoint (prometheus_export.port and .path): each
 * GET renders every process's metrics and Sonde's own, at that moment.
 */
import { createServer, type Server } from 'node:http';
import type { MetricsOutput, MetricsOutputStats, MetricsProducer } from './MetricsOutput.js';
import { prometheusText } from './prometheusText.js';

export class PrometheusEndpoint implements MetricsOutput {
  readonly kind = 'explicit' as const;
  private server: Server | null = null;
  readonly stats: MetricsOutputStats = { exports: 0, failures: 0, lastError: null };

  constructor(
    private readonly port: number,
    private readonly path: string,
    private readonly host?: string,
  ) {}

  start(produce: MetricsProducer): Promise<Error | null> {
    const server = createServer((req, res) => {
      const path = (req.url ?? '/').split('?')[0];
      if (path !== this.path || (req.method !== 'GET' && req.method !== 'HEAD')) {
        res.writeHead(404, { 'content-type': 'text/plain' }).end(`metrics are at ${this.path}\n`);
        return;
      }
      try {
        const body = prometheusText(produce(this.kind));
        this.stats.exports++;
        res.writeHead(200, { 'content-type': 'text/plain; version=0.0.4; charset=utf-8' }).end(req.method === 'HEAD' ? undefined : body);
      } catch (e) {
        this.stats.failures++;
        this.stats.lastError = (e as Error).message;
        res.writeHead(500, { 'content-type': 'text/plain' }).end(`${(e as Error).message}\n`);
      }
    });
    return new Promise((resolve) => {
      server.once('error', (e) => resolve(new Error(`prometheus_export.port ${this.port}: cannot listen: ${e.message}`)));
      server.listen(this.port, this.host, () => {
        this.server = server;
        resolve(null);
      });
    });
  }

  /** The port bound (the one asked for, or the kernel's choice for 0). */
  get boundPort(): number | null {
    const a = this.server?.address();
    return a && typeof a === 'object' ? a.port : null;
  }

  shutdown(): Promise<void> {
    const server = this.server;
    this.server = null;
    if (!server) return Promise.resolve();
    server.closeAllConnections();
    return new Promise((resolve) => server.close(() => resolve()));
  }
}
