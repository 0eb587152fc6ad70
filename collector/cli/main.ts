#!/usr/bin/env node
/**
 * The `sonde` command: run, record, replay, config, doctor.
 */
import { join } from 'node:path';
import { Command, Option } from 'commander';
import { formatIssues, loadConfig, type CliFlags, type LoadedConfig } from '../../config/load.js';
import { configReference } from '../../config/reference.js';
import { setLibbpfPrint } from '../ebpf/libbpf.js';
import { createLogger } from '../log.js';
import { readRecording } from '../record/recording.js';
import { replay } from '../record/replay.js';
import { ROOT, VERSION } from '../version.js';
import { formatEffectiveConfig } from './configCommand.js';
import { formatDoctor, runDoctor } from './doctor.js';
import { EXIT_CONFIG, run, sinksFor } from './run.js';

const program = new Command('sonde')
  .description('HTTP traces from the kernel for every program on this host, exported over OTLP')
  .version(VERSION);

/** Options shared by run and record (selection, output, capture). */
function captureOptions(cmd: Command): Command {
  return cmd
    .option('-c, --config <file>', 'YAML configuration file (OTEL_EBPF_CONFIG_PATH)')
    .option('--open-port <ports>', 'trace processes listening on these ports, e.g. 80,443,8000-8999 (OTEL_EBPF_OPEN_PORT)')
    .option('--exe <glob>', 'trace processes whose executable path matches, e.g. "*/nginx" (OTEL_EBPF_AUTO_TARGET_EXE)')
    .option('--pid <pids>', 'trace these process ids, comma-separated (OTEL_EBPF_TARGET_PID)')
    .addOption(new Option('--print <format>', 'print spans on stdout (OTEL_EBPF_TRACE_PRINTER)').choices(['auto', 'text', 'json', 'disabled']))
    .option('--otlp-endpoint <url>', 'OTLP endpoint (OTEL_EXPORTER_OTLP_ENDPOINT)')
    .addOption(new Option('--otlp-protocol <protocol>', 'OTLP protocol (OTEL_EXPORTER_OTLP_PROTOCOL)').choices(['grpc', 'http/protobuf']))
    .addOption(new Option('--capture-mode <mode>', 'kernel capture mode (SONDE_CAPTURE_MODE)').choices(['auto', 'fentry', 'kprobe', 'tracepoint']))
    .addOption(new Option('--socket-lookup <how>', 'tracepoint mode: how sockets are found (SONDE_SOCKET_LOOKUP)').choices(['auto', 'sock-length-tracepoints', 'fd-table']))
    .option('--capture-size <bytes>', 'payload bytes copied per send/receive (SONDE_CAPTURE_SIZE)')
    .option('--prometheus-port <port>', 'serve Prometheus metrics on this port (OTEL_EBPF_PROMETHEUS_PORT)')
    .option('--url-query', 'record url.query (off by default: queries carry secrets)')
    .addOption(new Option('--log-level <level>', 'log level (OTEL_EBPF_LOG_LEVEL)').choices(['debug', 'info', 'warn', 'error']));
}

/** commander's camelCase option names back to the flags' own names. */
function flagsOf(opts: Record<string, string | boolean | undefined>): CliFlags {
  return Object.fromEntries(Object.entries(opts).map(([k, v]) => [k.replace(/[A-Z]/g, (c) => `-${c.toLowerCase()}`), v]));
}

function configOrExit(opts: Record<string, string | boolean | undefined>): LoadedConfig {
  const loaded = loadConfig(process.env, flagsOf(opts));
  if (Array.isArray(loaded)) {
    process.stderr.write(`${formatIssues(loaded)}\n`);
    process.exit(EXIT_CONFIG);
  }
  return loaded;
}

captureOptions(program.command('run'))
  .description('capture HTTP traffic and export spans (printed on stdout unless an OTLP endpoint is set)')
  .action(async (opts: Record<string, string | boolean | undefined>) => {
    const { config } = configOrExit(opts);
    process.exit(await run(config, createLogger(config.log_level)));
  });

captureOptions(program.command('record <file>'))
  .description('run, and also write every kernel record to <file> (for sonde replay, and bug reports)')
  .action(async (file: string, opts: Record<string, string | boolean | undefined>) => {
    const { config } = configOrExit(opts);
    process.exit(await run(config, createLogger(config.log_level), { recordTo: file }));
  });

program
  .command('replay <file>')
  .description('turn a recording into spans again, printed or exported as run would')
  .option('-c, --config <file>', 'YAML configuration file (OTEL_EBPF_CONFIG_PATH)')
  .addOption(new Option('--print <format>', 'print spans on stdout (OTEL_EBPF_TRACE_PRINTER)').choices(['auto', 'text', 'json', 'disabled']))
  .option('--otlp-endpoint <url>', 'OTLP endpoint (OTEL_EXPORTER_OTLP_ENDPOINT)')
  .addOption(new Option('--otlp-protocol <protocol>', 'OTLP protocol (OTEL_EXPORTER_OTLP_PROTOCOL)').choices(['grpc', 'http/protobuf']))
  .option('--url-query', 'record url.query')
  .addOption(new Option('--log-level <level>', 'log level (OTEL_EBPF_LOG_LEVEL)').choices(['debug', 'info', 'warn', 'error']))
  .action(async (file: string, opts: Record<string, string | boolean | undefined>) => {
    const { config } = configOrExit(opts);
    const log = createLogger(config.log_level);
    const items = readRecording(file);
    if (items instanceof Error) {
      log.error(items.message);
      process.exit(EXIT_CONFIG);
    }
    const sinks = sinksFor(config, log);
    const { stats, handleMs } = await replay(items, config, sinks, log);
    await Promise.all(sinks.map((s) => s.shutdown()));
    log.info(
      {
        records: stats.records,
        spans: stats.spans,
        parseErrors: Object.fromEntries(stats.parseErrors),
        handleMs: Math.round(handleMs),
        recordsPerSecond: Math.round(stats.records / (handleMs / 1000)),
        export: sinks.map((s) => s.stats),
      },
      'replay done',
    );
    process.exit(0);
  });

captureOptions(program.command('config'))
  .description('print the configuration run would use, and where each value came from')
  .option('--json', 'machine-readable output: {config, sources}')
  .option('--reference', 'every setting, its type, default, variable and flag, as a Markdown table')
  .action((opts: Record<string, string | boolean | undefined>) => {
    const { json, reference, ...rest } = opts;
    if (reference) {
      process.stdout.write(configReference());
      process.exit(0);
    }
    const loaded = configOrExit(rest);
    process.stdout.write(json ? `${JSON.stringify({ config: loaded.config, sources: Object.fromEntries(loaded.sources) }, null, 2)}\n` : formatEffectiveConfig(loaded));
    process.exit(0);
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
