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
    name: z
      .enum(['always_on', 'always_off', 'traceidratio', 'parentbased_always_on', 'parentbased_always_off', 'parentbased_traceidratio'])
      .default('parentbased_always_on')
      .describe('head sampling of traces; metrics count every request'),
    arg: z.number().min(0).max(1).optional().describe('traceidratio: the share of traces kept, 0 to 1'),
  })
  .strict();

/** What picks processes: within one selector every given criterion must match. */
const criteria = {
  open_ports: portSet.optional().describe('processes listening on these ports (or with them as their own local port): "80,443,8000-8999"'),
  exe_path: z.string().min(1).optional().describe('a glob on the executable\'s path: "*/nginx"'),
  cmd_args: z.string().min(1).optional().describe('a glob on the command line, arguments joined by spaces: "*manage.py runserver*"'),
  target_pids: z.array(z.number().int().positive()).min(1).optional().describe('these process ids'),
  containers_only: z.boolean().optional().describe('only processes in a container'),
};

type Criteria = { open_ports?: string | undefined; exe_path?: string | undefined; cmd_args?: string | undefined; target_pids?: number[] | undefined; containers_only?: boolean | undefined };
const selectsSomething = (s: Criteria): boolean =>
  s.open_ports !== undefined || s.exe_path !== undefined || s.target_pids !== undefined || s.cmd_args !== undefined || s.containers_only === true;
const SELECTS_NOTHING = { message: 'a selector needs at least one of open_ports, exe_path, cmd_args, target_pids, containers_only' };

/** An exclude selector: criteria only. */
const excludeSelector = z.object(criteria).strict().refine(selectsSomething, SELECTS_NOTHING);

/** An instrument selector: criteria, and what holds for the processes it picks. */
const selector = z
  .object({
    ...criteria,
    name: z.string().min(1).optional().describe('service.name of what this selector picks, over the process\'s own'),
    namespace: z.string().min(1).optional().describe('service.namespace of what this selector picks'),
    sampler: sampler.optional().describe('its own sampler, over otel_traces_export.sampler'),
    routes: z
      .object({
        patterns: z.array(routePattern).default([]).describe('as routes.patterns'),
        unmatched: unmatchedRoutes.default('heuristic').describe('as routes.unmatched'),
      })
      .strict()
      .optional()
      .describe('its own route patterns and rule, over routes'),
  })
  .strict()
  .refine(selectsSomething, SELECTS_NOTHING);

/**
 * Collectors and trace backends would trace their own intake of our
 * exports; the host's own daemons are not what users instrument.
 */
export const DEFAULT_EXCLUDES: ReadonlyArray<z.output<typeof excludeSelector>> = [
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
  endpoint: z.url().optional().describe('OTLP base URL; http/protobuf appends the signal\'s path (/v1/traces, /v1/metrics)'),
  protocol: z.enum(['grpc', 'http/protobuf']).optional().describe('without it, port 4317 means grpc and any other http/protobuf'),
  headers: z.record(z.string(), z.string()).default({}).describe('sent with every export, e.g. api-key=secret'),
};

export const configSchema = z
  .object({
    log_level: z.enum(['debug', 'info', 'warn', 'error']).default('info'),
    trace_printer: z.enum(['auto', 'text', 'json', 'disabled']).default('auto').describe('print spans on stdout; auto: text on a terminal, JSON lines otherwise, off when an OTLP endpoint is set'),
    discovery: z
      .object({
        instrument: z.array(selector).default([]).describe('which processes to trace (any selector); none: every process'),
        exclude_instrument: z.array(excludeSelector).default([]).describe('processes never traced, whatever selects them: the criteria of discovery.instrument[]'),
        default_exclude_instrument: z
          .array(excludeSelector)
          .default(() => DEFAULT_EXCLUDES.map((s) => ({ ...s })))
          .describe('trace backends, collectors and the host\'s daemons; set [] to trace them too'),
        min_process_age: milliseconds.default(0).describe('trace a process only once it is this old (ms); 0: from its first request'),
        poll_interval: milliseconds.min(100).default(5000).describe('how often /proc is read again for processes whose exec went unseen (ms)'),
      })
      .strict()
      .prefault({}),
    otel_traces_export: z
      .object({
        ...otlpEndpoint,
        traces_endpoint: z.url().optional().describe('OTLP traces URL, used as given'),
        max_queue_size: z.number().int().positive().default(2048).describe('spans waiting for export; past it, spans are dropped and counted'),
        max_export_batch_size: z.number().int().positive().default(512),
        schedule_delay: milliseconds.default(5000).describe('longest wait before a partial batch is sent (ms)'),
        export_timeout: milliseconds.min(1).default(30000).describe('ms'),
        sampler: sampler.prefault({}),
      })
      .strict()
      .prefault({}),
    otel_metrics_export: z
      .object({
        ...otlpEndpoint,
        metrics_endpoint: z.url().optional().describe('OTLP metrics URL, used as given'),
        interval: milliseconds.min(100).default(60000).describe('how often metrics are exported (ms)'),
        export_timeout: milliseconds.min(1).default(30000).describe('ms'),
        histogram_aggregation: z.enum(['explicit_bucket_histogram', 'base2_exponential_bucket_histogram']).default('explicit_bucket_histogram'),
        buckets: z
          .object({
            duration_histogram: boundaries.default(() => [...DURATION_BUCKETS]).describe('bucket boundaries of durations (seconds)'),
            request_size_histogram: boundaries.default(() => [...SIZE_BUCKETS]).describe('bucket boundaries of body sizes (bytes)'),
          })
          .strict()
          .prefault({}),
      })
      .strict()
      .prefault({}),
    prometheus_export: z
      .object({
        port: z.number().int().min(0).max(65535).optional().describe('serve metrics for scraping on this port; unset: no endpoint'),
        path: z.string().startsWith('/').default('/metrics'),
      })
      .strict()
      .prefault({}),
    routes: z
      .object({
        patterns: z.array(routePattern).default([]).describe('route templates: "/users/{id}", "/users/:id", "*" for one segment, a final "**" for the rest'),
        unmatched: unmatchedRoutes.default('heuristic').describe('http.route of a path no pattern matched: ids made {id}, the path, "/**", or none'),
        max_routes: z.number().int().positive().default(100).describe('distinct unmatched routes per service; past it, "/**"'),
      })
      .strict()
      .prefault({}),
    attributes: z
      .object({
        url_query: z.boolean().default(false).describe('record url.query; secret-looking parameters are redacted'),
        http_headers: z
          .object({
            request: z.array(headerName).default([]).describe('request headers recorded as http.request.header.<name>; never credentials'),
            response: z.array(headerName).default([]).describe('response headers recorded as http.response.header.<name>; never credentials'),
          })
          .strict()
          .prefault({}),
      })
      .strict()
      .prefault({}),
    ebpf: z
      .object({
        capture_mode: z.enum(['auto', 'fentry', 'kprobe', 'tracepoint']).default('auto').describe('how the kernel side attaches; auto: the best this kernel allows'),
        socket_lookup: z.enum(['auto', 'sock-length-tracepoints', 'fd-table']).default('auto').describe('tracepoint mode: how a call\'s socket is found'),
        capture_size: z.number().int().min(0).max(16384).default(4096).describe('payload bytes copied per send or receive (bytes); the true length is always reported'),
        ring_buffer_size: z
          .number()
          .int()
          .min(1 << 16)
          .max(1 << 30)
          .refine((n) => (n & (n - 1)) === 0, { message: 'must be a power of two' })
          // Over half a second of records at 30k req/s. Its pages are mapped twice
          // (for wrap-around), so RSS shows twice this size.
          .default(8 << 20)
          .describe('kernel-to-userspace ring buffer (bytes, a power of two)'),
        wakeup_bytes: z.number().int().positive().default(256 << 10).describe('wake userspace when this many bytes wait, else on the drain timer'),
        drain_interval: milliseconds.min(1).max(1000).default(20).describe('drain the ring buffer at least this often (ms)'),
        tls: z.boolean().default(true).describe('capture HTTPS plaintext with uprobes on OpenSSL and GnuTLS'),
        node_async_context: z
          .boolean()
          .default(true)
          .describe('tie the calls a Node.js server makes to the request it serves, with uprobes on each traced node process\'s async machinery'),
        context_propagation: z
          .enum(['disabled', 'headers'])
          .default('disabled')
          .describe('headers: write a W3C traceparent into the plaintext HTTP/1 requests traced processes send without one (sock_ops + sk_msg; needs CAP_NET_ADMIN)'),
      })
      .strict()
      .prefault({}),
  })
  .strict();

export type Config = z.output<typeof configSchema>;
export type ConfigInput = z.input<typeof configSchema>;
export type SelectorConfig = z.output<typeof selector>;
