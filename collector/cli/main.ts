#!/usr/bin/env node
/**
 * The `sonde` command: `run` and `doctor`.
 */
import { join } from 'node:path';
import { Command, Option } from 'commander';
import { formatIssues, loadConfig, type CliFlags } from '../../config/load.js';
import { setLibbpfPrint } from '../ebpf/libbpf.js';
import { createLogger } from '../log.js';
import { ROOT, VERSION } from '../version.js';
import { formatDoctor, runDoctor } from './doctor.js';
import { EXIT_CONFIG, run } from './run.js';

const program = new Command('sonde')
  .description('HTTP traces from the kernel for every program on this host, exported over OTLP')
  .version(VERSION);

program
  .command('run', { isDefault: false })
  .description('capture HTTP traffic and export spans (printed on stdout unless an OTLP endpoint is set)')
  .option('-c, --config <file>', 'YAML configuration file (OTEL_EBPF_CONFIG_PATH)')
  .option('--open-port <ports>', 'trace processes listening or connecting on these ports, e.g. 80,443,8000-8999 (OTEL_EBPF_OPEN_PORT)')
  .option('--exe <glob>', 'trace processes whose executable path matches, e.g. "*/nginx" (OTEL_EBPF_AUTO_TARGET_EXE)')
  .option('--pid <pids>', 'trace these process ids, comma-separated (OTEL_EBPF_TARGET_PID)')
  .addOption(new Option('--print <format>', 'print spans on stdout (OTEL_EBPF_TRACE_PRINTER)').choices(['auto', 'text', 'json', 'disabled']))
  .option('--otlp-endpoint <url>', 'OTLP endpoint (OTEL_EXPORTER_OTLP_ENDPOINT)')
  .addOption(new Option('--otlp-protocol <protocol>', 'OTLP protocol (OTEL_EXPORTER_OTLP_PROTOCOL)').choices(['grpc', 'http/protobuf']))
  .addOption(new Option('--capture-mode <mode>', 'kernel capture mode (SONDE_CAPTURE_MODE)').choices(['auto', 'fentry', 'kprobe', 'tracepoint']))
  .addOption(new Option('--socket-lookup <how>', 'tracepoint mode: how sockets are found (SONDE_SOCKET_LOOKUP)').choices(['auto', 'sock-length-tracepoints', 'fd-table']))
  .option('--capture-size <bytes>', 'payload bytes copied per send/receive (SONDE_CAPTURE_SIZE)')
  .option('--url-query', 'record url.query (off by default: queries carry secrets)')
  .addOption(new Option('--log-level <level>', 'log level (OTEL_EBPF_LOG_LEVEL)').choices(['debug', 'info', 'warn', 'error']))
  .action(async (opts: Record<string, string | boolean | undefined>) => {
    const flags: CliFlags = Object.fromEntries(Object.entries(opts).map(([k, v]) => [k.replace(/[A-Z]/g, (c) => `-${c.toLowerCase()}`), v]));
    const loaded = loadConfig(process.env, flags);
    if (Array.isArray(loaded)) {
      process.stderr.write(`${formatIssues(loaded)}\n`);
      process.exit(EXIT_CONFIG);
    }
    const log = createLogger(loaded.config.log_level);
    process.exit(await run(loaded.config, log));
  });

program
  .command('doctor')
  .description('what this kernel and these privileges allow, and the capture mode run would use')
  .option('--json', 'machine-readable output')
  .action((opts: { json?: boolean }) => {
    setLibbpfPrint(null);
    const report = runDoctor(join(ROOT, 'dist', 'bpf'));
    process.stdout.write(`${opts.json ? JSON.stringify(report, null, 2) : formatDoctor(report)}\n`);
    process.exit(report.ready ? 0 : 1);
  });

await program.parseAsync(process.argv);
