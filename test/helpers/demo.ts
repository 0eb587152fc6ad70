/**
 * The compose demo's services (demo/), run here without containers: the Go
 * pricing service built once from the Go module proxy into the cache, the
 * Node and Python services run from their sources, as their images do.
 */
import { execFile } from 'node:child_process';
import { createHash } from 'node:crypto';
import { existsSync, mkdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { listening, stopper, type Peer } from './peers.js';
import { freePort } from './ports.js';
import { ROOT } from './sonde.js';
import { spawnTied } from './tied.js';

const exec = promisify(execFile);
const DEMO = join(ROOT, 'demo');

async function pricingBinary(): Promise<string> {
  const src = join(DEMO, 'pricing');
  const hash = createHash('sha256');
  for (const f of ['main.go', 'go.mod', 'go.sum']) hash.update(f).update(readFileSync(join(src, f)));
  const { stdout } = await exec('bash', ['-c', '. scripts/cache-root.sh && echo "$cache_root"'], { cwd: ROOT });
  const dir = join(stdout.trim(), `demo-pricing-${hash.digest('hex').slice(0, 12)}`);
  const bin = join(dir, 'pricing');
  if (!existsSync(bin)) {
    mkdirSync(dir, { recursive: true });
    await exec('go', ['build', '-o', bin, '.'], { cwd: src, env: { ...process.env, CGO_ENABLED: '0' } });
  }
  return bin;
}

export interface Demo {
  readonly frontend: Peer;
  readonly inventory: Peer;
  /** HTTP port; the gRPC one is `pricingGrpcPort`. */
  readonly pricing: Peer;
  readonly pricingGrpcPort: number;
  stop(): Promise<void>;
}

/** The three demo services on loopback, each named by OTEL_SERVICE_NAME as the compose file names them. */
export async function startDemo(): Promise<Demo> {
  const [pricingHttp, pricingGrpc, inventoryPort, frontendPort] = [await freePort(), await freePort(), await freePort(), await freePort()];
  const env = (name: string, extra: NodeJS.ProcessEnv = {}): NodeJS.ProcessEnv => ({ ...process.env, OTEL_SERVICE_NAME: name, ...extra });
  const started: Peer[] = [];
  const start = async (name: string, port: number, cmd: string, args: string[], extra: NodeJS.ProcessEnv = {}): Promise<Peer> => {
    const child = spawnTied(cmd, args, { env: env(name, extra), stdio: 'ignore' });
    await listening(child, port, '127.0.0.1', name);
    const peer = { pid: child.pid!, port, dir: '', stop: stopper(child) };
    started.push(peer);
    return peer;
  };
  const pricing = await start('pricing', pricingHttp, await pricingBinary(), ['-http', `127.0.0.1:${pricingHttp}`, '-grpc', `127.0.0.1:${pricingGrpc}`]);
  // pricing listens on gRPC before HTTP: its HTTP port answering means both are up.
  const inventory = await start('inventory', inventoryPort, process.execPath, [join(DEMO, 'inventory/server.mjs'), String(inventoryPort)], { PRICING_GRPC: `127.0.0.1:${pricingGrpc}` });
  const frontend = await start('frontend', frontendPort, 'python3', [join(DEMO, 'frontend/app.py'), String(frontendPort)], {
    INVENTORY_URL: `http://127.0.0.1:${inventoryPort}`,
    PRICING_URL: `http://127.0.0.1:${pricingHttp}`,
  });
  return {
    frontend,
    inventory,
    pricing,
    pricingGrpcPort: pricingGrpc,
    stop: async () => {
      for (const p of started.reverse()) await p.stop();
    },
  };
}
