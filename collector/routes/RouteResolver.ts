/**
 * http.route for a server request, the same for its span and its metrics:
 * a configured pattern first; else, as `routes.unmatched` says, the
 * heuristic route, the path itself, a wildcard, or none. Each service may
 * have at most `max_routes` distinct routes not from a pattern; past that,
 * new ones are reported as ROUTE_OVERFLOW (and counted), so a scanner
 * walking random URLs cannot blow up the metrics backend.
 */
import { heuristicRoute } from './heuristic.js';
import { RoutePatterns } from './patterns.js';

export type UnmatchedRoutes = 'heuristic' | 'path' | 'wildcard' | 'unset';

export interface RouteOptions {
  readonly patterns: readonly string[];
  readonly unmatched: UnmatchedRoutes;
  /** Distinct routes per service beyond the configured patterns. */
  readonly maxRoutes: number;
}

/** Any route: for `unmatched: wildcard`, and for routes past a service's limit. */
export const ROUTE_WILDCARD = '/**';
export const ROUTE_OVERFLOW = ROUTE_WILDCARD;

export interface Route {
  readonly route: string;
  /** From a configured pattern: a route the user vouches for (it names the span too). */
  readonly configured: boolean;
}

/** Services remembered at once; the oldest is forgotten past it (its routes start again). */
const MAX_SERVICES = 4096;
/** Paths whose unmatched route is remembered per service, so repeated paths skip the heuristic. */
const PATH_CACHE = 2048;

interface ServiceRoutes {
  readonly routes: Set<string>;
  readonly byPath: Map<string, Route>;
}

const WILDCARD: Route = { route: ROUTE_WILDCARD, configured: false };
const OVERFLOW: Route = { route: ROUTE_OVERFLOW, configured: false };

export class RouteResolver {
  private readonly patterns: RoutePatterns;
  private readonly services = new Map<string, ServiceRoutes>();
  /** Requests whose route was reported as ROUTE_OVERFLOW. */
  overflowed = 0;

  constructor(private readonly opts: RouteOptions) {
    this.patterns = new RoutePatterns(opts.patterns);
  }

  /** The route of a request `path` (no query) served by `service`; undefined when unset. */
  resolve(service: string, path: string): Route | undefined {
    const matched = this.patterns.match(path);
    if (matched !== null) return { route: matched, configured: true };
    const mode = this.opts.unmatched;
    if (mode === 'unset') return undefined;
    if (mode === 'wildcard') return WILDCARD;
    const s = this.serviceRoutes(service);
    let route = s.byPath.get(path);
    if (route === undefined) {
      const r = mode === 'heuristic' ? heuristicRoute(path) : path;
      if (s.routes.has(r)) route = { route: r, configured: false };
      else if (s.routes.size >= this.opts.maxRoutes) route = OVERFLOW;
      else {
        s.routes.add(r);
        route = { route: r, configured: false };
      }
      if (s.byPath.size >= PATH_CACHE) s.byPath.clear();
      s.byPath.set(path, route);
    }
    if (route === OVERFLOW) this.overflowed++;
    return route;
  }

  /** Distinct routes a service has now (for tests and health). */
  routesOf(service: string): ReadonlySet<string> {
    return this.services.get(service)?.routes ?? new Set();
  }

  private serviceRoutes(service: string): ServiceRoutes {
    let s = this.services.get(service);
    if (!s) {
      if (this.services.size >= MAX_SERVICES) this.services.delete(this.services.keys().next().value!);
      s = { routes: new Set(), byPath: new Map() };
      this.services.set(service, s);
    }
    return s;
  }
}
