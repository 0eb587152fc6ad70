/**
 * A process's environment is full of secrets; Sonde reads it (from
 * /proc/PID/environ, or the kernel's exec record) only for the
 * OpenTelemetry variables that name a service (and a container's HOSTNAME), and keeps nothing else.
 */

/** The variables Sonde keeps. */
export const OTEL_ENV = ['OTEL_SERVICE_NAME', 'OTEL_RESOURCE_ATTRIBUTES'] as const;

export interface OtelEnv {
  readonly otelServiceName: string | undefined;
  readonly otelResourceAttributes: string | undefined;
}

/** The entries of a NUL-separated environ block that Sonde keeps, in order. */
export function otelEntries(environ: string): string[] {
  const out: string[] = [];
  for (const entry of environ.split('\0')) {
    const eq = entry.indexOf('=');
    if (eq > 0 && (OTEL_ENV as readonly string[]).includes(entry.slice(0, eq))) out.push(entry);
  }
  return out;
}

/** OTEL_SERVICE_NAME and OTEL_RESOURCE_ATTRIBUTES of a NUL-separated environ block (the first one wins, as for getenv). */
export function otelEnv(environ: string): OtelEnv {
  let otelServiceName: string | undefined;
  let otelResourceAttributes: string | undefined;
  for (const entry of otelEntries(environ)) {
    const value = entry.slice(entry.indexOf('=') + 1);
    if (entry.startsWith('OTEL_SERVICE_NAME=')) otelServiceName ??= value;
    else otelResourceAttributes ??= value;
  }
  return { otelServiceName, otelResourceAttributes };
}

/**
 * One variable of a NUL-separated environ block, read and not kept: for
 * HOSTNAME, which names a container (Docker sets it to the container's
 * hostname, Kubernetes to the pod's name).
 */
export function envValue(environ: string, name: string): string | undefined {
  const prefix = `${name}=`;
  for (const entry of environ.split('\0')) if (entry.startsWith(prefix)) return entry.slice(prefix.length);
  return undefined;
}
