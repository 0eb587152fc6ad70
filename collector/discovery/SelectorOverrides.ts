/**
 * What holds for a traced process because of the selector that chose it
 * (discovery.instrument[i]: name, namespace, routes, sampler), else the
 * global settings. Route resolvers and samplers are made once per selector.
 */
import type { Config } from '../../config/schema.js';
import { RouteResolver } from '../routes/RouteResolver.js';
import { createSampler, type Sampler } from '../spans/sampler.js';
import type { ServiceOverride } from '../spans/ServiceResources.js';

export class SelectorOverrides {
  private readonly routes: RouteResolver;
  private readonly sampler: Sampler;
  private readonly selectorRoutes = new Map<number, RouteResolver>();
  private readonly selectorSamplers = new Map<number, Sampler>();

  /** `selectorOf`: the index of the instrument selector that chose a process, if one did. */
  constructor(
    private readonly config: Config,
    private readonly selectorOf: (pid: number) => number | undefined,
  ) {
    const r = config.routes;
    this.routes = new RouteResolver({ patterns: r.patterns, unmatched: r.unmatched, maxRoutes: r.max_routes });
    this.sampler = createSampler(config.otel_traces_export.sampler);
  }

  private selector(pid: number): { index: number; s: Config['discovery']['instrument'][number] } | undefined {
    const index = this.selectorOf(pid);
    const s = index === undefined ? undefined : this.config.discovery.instrument[index];
    return s ? { index: index!, s } : undefined;
  }

  readonly serviceOf = (pid: number): ServiceOverride | undefined => this.selector(pid)?.s;

  readonly routesOf = (pid: number): RouteResolver => {
    const sel = this.selector(pid);
    if (!sel?.s.routes) return this.routes;
    let r = this.selectorRoutes.get(sel.index);
    if (!r) {
      r = new RouteResolver({ patterns: sel.s.routes.patterns, unmatched: sel.s.routes.unmatched, maxRoutes: this.config.routes.max_routes });
      this.selectorRoutes.set(sel.index, r);
    }
    return r;
  };

  readonly samplerOf = (pid: number): Sampler => {
    const sel = this.selector(pid);
    if (!sel?.s.sampler) return this.sampler;
    let s = this.selectorSamplers.get(sel.index);
    if (!s) this.selectorSamplers.set(sel.index, (s = createSampler(sel.s.sampler)));
    return s;
  };

  /** Requests whose route was past their service's limit, over every resolver. */
  get routesOverflowed(): number {
    let n = this.routes.overflowed;
    for (const r of this.selectorRoutes.values()) n += r.overflowed;
    return n;
  }
}
