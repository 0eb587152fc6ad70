/**
 * The configuration, one schema for every source (defaults, YAML file,
 * environment, CLI flags). Keys follow the OpenTelemetry eBPF
 * Instrumentation's YAML where it has one, so users bring their files.
 */
import { z } from 'zod';
import { parsePortSet } from '../collector/discovery/selectors.js';
import { DURATION_BUCKETS, SIZE_BUCKETS } from '../collector/metrics/histograms.js';
import { patternError } from '../collector/routes/patterns.js';
import { NEVER_RECORDED_HEADERS } from '../collector/spans/redact.js';

const portSet = z.string().superRefine((text, ctx) => {
  const r = parsePortSet(text);
  if (r instanceof Error) ctx.addIssue({ code: 'custom', message: r.message });
});

const routePattern = z.string().superRefine((text, ctx) => {
  const why = patternError(text);
  if (why) ctx.addIssue({ code: 'custom', message: why });
});

const headerName = z
  .string()
  .regex(/^[!#$%&'*+.^_`|~0-9A-Za-z-]+$/, { message: 'not an HTTP header name' })
  .refine((h) => !NEVER_RECORDED_HEADERS.has(h.toLowerCase()), { message: 'carries credentials: it is never recorded' });

const unmatchedRoutes = z.enum(['heuristic', 'path', 'wildcard', 'unset']);

/** OTEL_TRACES_SAMPLER and OTEL_TRACES_SAMPLER_ARG. */
const sampler = z
  .object({
    name: z.enum(['always_on', 'always_off', 'traceidratio', 'parentbased_always_on', 'parentbased_always_off', 'parentbased_traceidratio']).default('parentbased_always_on'),
    /** traceidratio: the share of traces kept, 0 to 1. */
    arg: z.number().min(0).max(1).optional(),
  })
  .strict();

const selector = z
  .object({
    open_ports: portSet.optional(),
    exe_path: z.string().min(1).optional(),
    /** A glob on the whole command line (arguments joined by spaces). */
    cmd_args: z.string().min(1).optional(),
    target_pids: z.array(z.number().int().positive()).min(1).optional(),
    /** Only processes in a container. */
    containers_only: z.boolean().optional(),
    /** service.name and service.namespace of what this selector picks, over the process's own. */
    name: z.string().min(1).optional(),
    namespace: z.string().min(1).optional(),
    sampler: sampler.optional(),
    /** Route patterns and rule for what this selector picks, instead of the global routes. */
    routes: z.object({ patterns: z.array(routePattern).default([]), unmatched: unmatchedRoutes.default('heuristic') }).strict().optional(),
  })
  .strict()
  .refine((s) => s.open_ports !== undefined || s.exe_path !== undefined || s.target_pids !== undefined || s.cmd_args !== undefined || s.containers_only === true, {
    message: 'a selector needs at least one of open_ports, exe_path, cmd_args, target_pids, containers_only',
  });

/**
 * Collectors and trace backends would trace their own intake of our
 * exports; the host's own daemons are not what users instrument.
 */
export const DEFAULT_EXCLUDES: ReadonlyArray<z.output<typeof selector>> = [
  { exe_path: '*/jaeger' },
  { exe_path: '*/jaeger-*' },
  { exe_path: '*/otelcol*' },
  { exe_path: '*/tempo' },
  { exe_path: '*/prometheus' },
  { exe_path: '*/systemd' },
  { exe_path: '*/systemd-*' },
  { exe_path: '*/sshd' },
  { exe_path: '*/dbus-daemon' },
  { exe_path: '*/containerd' },
  { exe_path: '*/containerd-shim*' },
  { exe_path: '*/dockerd' },
  { exe_path: '*/kubelet' },
];

const milliseconds = z.number().int().nonnegative();

const boundaries = z
  .array(z.number().nonnegative())
  .min(1)
  .refine((b) => b.every((v, i) => i === 0 || v > b[i - 1]!), { message: 'must be in increasing order' });

const otlpEndpoint = {
  /** OTEL_EXPORTER_OTLP_ENDPOINT: base URL; http/protobuf appends the signal's path. */
  endpoint: z.url().optional(),
  protocol: z.enum(['grpc', 'http/protobuf']).optional(),
  headers: z.record(z.string(), z.string()).default({}),
};

export const configSchema = z
  .object({
    log_level: z.enum(['debug', 'info', 'warn', 'error']).default('info'),
    /** auto: text on a terminal, JSON lines otherwise; off when an OTLP endpoint is set. */
    trace_printer: z.enum(['auto', 'text', 'json', 'disabled']).default('auto'),
    discovery: z
      .object({
        instrument: z.array(selector).default([]),
        exclude_instrument: z.array(selector).default([]),
        default_exclude_instrument: z.array(selector).default(() => DEFAULT_EXCLUDES.map((s) => ({ ...s }))),
        /** How often /proc is re-read for processes whose exec went unseen (ms). */
        poll_interval: milliseconds.min(100).default(5000),
      })
      .strict()
      .prefault({}),
    otel_traces_export: z
      .object({
        ...otlpEndpoint,
        /** OTEL_EXPORTER_OTLP_TRACES_ENDPOINT: used as is. */
        traces_endpoint: z.url().optional(),
        max_queue_size: z.number().int().positive().default(2048),
        max_export_batch_size: z.number().int().positive().default(512),
        schedule_delay: milliseconds.default(5000),
        export_timeout: milliseconds.min(1).default(30000),
        /** OTEL_TRACES_SAMPLER / OTEL_TRACES_SAMPLER_ARG. */
        sampler: sampler.prefault({}),
      })
      .strict()
      .prefault({}),
    otel_metrics_export: z
      .object({
        ...otlpEndpoint,
        /** OTEL_EXPORTER_OTLP_METRICS_ENDPOINT: used as is. */
        metrics_endpoint: z.url().optional(),
        /** OTEL_METRIC_EXPORT_INTERVAL (ms). */
        interval: milliseconds.min(100).default(60000),
        /** OTEL_METRIC_EXPORT_TIMEOUT (ms). */
        export_timeout: milliseconds.min(1).default(30000),
        /** OTEL_EXPORTER_OTLP_METRICS_DEFAULT_HISTOGRAM_AGGREGATION. */
        histogram_aggregation: z.enum(['explicit_bucket_histogram', 'base2_exponential_bucket_histogram']).default('explicit_bucket_histogram'),
        buckets: z
          .object({
            /** Seconds. */
            duration_histogram: boundaries.default(() => [...DURATION_BUCKETS]),
            /** Bytes. */
            request_size_histogram: boundaries.default(() => [...SIZE_BUCKETS]),
          })
          .strict()
          .prefault({}),
      })
      .strict()
      .prefault({}),
    prometheus_export: z
      .object({
        /** OTEL_EBPF_PROMETHEUS_PORT: serve metrics for scraping on this port (off when unset). */
        port: z.number().int().min(0).max(65535).optional(),
        path: z.string().startsWith('/').default('/metrics'),
      })
      .strict()
      .prefault({}),
    routes: z
      .object({
        /** Route templates: "/users/{id}", "/users/:id", "*" for one segment, a final "**" for the rest. */
        patterns: z.array(routePattern).default([]),
        /** What http.route is for a path no pattern matched. */
        unmatched: unmatchedRoutes.default('heuristic'),
        /** Distinct unmatched routes per service; past it, "/**". */
        max_routes: z.number().int().positive().default(100),
      })
      .strict()
      .prefault({}),
    attributes: z
      .object({
        /** Record url.query (off: queries often carry secrets; when on, secret-looking parameters are redacted). */
        url_query: z.boolean().default(false),
        /** Headers to record as span attributes (http.request.header.<name>); credentials never are. */
        http_headers: z
          .object({
            request: z.array(headerName).default([]),
            response: z.array(headerName).default([]),
          })
          .strict()
          .prefault({}),
      })
      .strict()
      .prefault({}),
    ebpf: z
      .object({
        capture_mode: z.enum(['auto', 'fentry', 'kprobe', 'tracepoint']).default('auto'),
        socket_lookup: z.enum(['auto', 'sock-length-tracepoints', 'fd-table']).default('auto'),
        /** Payload bytes copied per send/receive; the true length is always reported. */
        capture_size: z.number().int().min(0).max(16384).default(4096),
        ring_buffer_size: z
          .number()
          .int()
          .min(1 << 16)
          .max(1 << 30)
          .refine((n) => (n & (n - 1)) === 0, { message: 'must be a power of two' })
          // Over half a second of records at 30k req/s. Its pages are mapped twice
          // (for wrap-around), so RSS shows twice this size.
          .default(8 << 20),
        /** Wake userspace when this many bytes wait (else on the drain timer). */
        wakeup_bytes: z.number().int().positive().default(256 << 10),
        /** Drain the ring buffer at least this often (ms). */
        drain_interval: milliseconds.min(1).max(1000).default(20),
        /** Capture HTTPS plaintext with uprobes on TLS libraries (OpenSSL, GnuTLS). */
        tls: z.boolean().default(true),
      })
      .strict()
      .prefault({}),
  })
  .strict();

export type Config = z.output<typeof configSchema>;
export type ConfigInput = z.input<typeof configSchema>;
export type SelectorConfig = z.output<typeof selector>;
