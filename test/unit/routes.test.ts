import { createHash } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { heuristicRoute, looksLikeId } from '../../collector/routes/heuristic.js';
import { patternError, RoutePatterns } from '../../collector/routes/patterns.js';
import { ROUTE_OVERFLOW, RouteResolver } from '../../collector/routes/RouteResolver.js';

describe('heuristicRoute', () => {
  it.each([
    ['/users/42', '/users/{id}'],
    ['/users/42/orders/7', '/users/{id}/orders/{id}'],
    ['/orders/3f2b8c1e-9d4a-4c7b-8e21-5a6f0d9c2b14', '/orders/{id}'],
    ['/orders/3F2B8C1E9D4A4C7B8E215A6F0D9C2B14/items', '/orders/{id}/items'],
    ['/blobs/da39a3ee5e6b4b0d3255bfef95601890afd80709', '/blobs/{id}'],
    ['/objects/507f1f77bcf86cd799439011', '/objects/{id}'],
    ['/invoices/INV-20931', '/invoices/{id}'],
    ['/reports/2024-05-01', '/reports/{id}'],
    ['/files/ab12cd34', '/files/{id}'],
    ['/tokens/dGhpcyBpcyBhIHRva2VuIG9mIDMyIGNoYXJzIQ', '/tokens/{id}'],
    ['/mail/someone%40example.com', '/mail/{id}'],
  ])('%s -> %s', (path, route) => {
    expect(heuristicRoute(path)).toBe(route);
  });

  it.each(['/', '/health', '/api/v1/users', '/api/v2beta/items', '/static/app.js', '/oauth2/callback', '/s3/buckets', '/users/me/', '/md5/sum', '/api/getUserProfileSettings'])(
    'keeps the words of %s',
    (path) => {
      expect(heuristicRoute(path)).toBe(path);
    },
  );

  it('never takes an empty segment for an id', () => {
    expect(looksLikeId('')).toBe(false);
    expect(heuristicRoute('//a//1/')).toBe('//a//{id}/');
  });
});

describe('RoutePatterns', () => {
  const p = new RoutePatterns(['/users/{id}', '/users/me', '/users/:id/orders/{orderId}', '/files/**', '/api/*/status', '/docs/{*rest}']);

  it.each([
    ['/users/42', '/users/{id}'],
    ['/users/me', '/users/me'],
    ['/users/42/orders/9', '/users/:id/orders/{orderId}'],
    ['/files/a/b/c.txt', '/files/**'],
    ['/files', '/files/**'],
    ['/api/v3/status', '/api/*/status'],
    ['/docs/guide/install', '/docs/{*rest}'],
  ])('%s matches %s', (path, route) => {
    expect(p.match(path)).toBe(route);
  });

  it.each(['/users', '/users/', '/users/42/orders', '/api/v3', '/other', 'users/42', '*'])('%s matches nothing', (path) => {
    expect(p.match(path)).toBeNull();
  });

  it('rejects patterns it cannot use', () => {
    expect(patternError('users/{id}')).toMatch(/start with "\/"/);
    expect(patternError('/a/**/b')).toMatch(/last segment/);
    expect(patternError('/a/{id}')).toBeNull();
  });
});

describe('RouteResolver', () => {
  /** Deterministic stand-ins for random ids, so a run that fails fails again. */
  const digest = (i: number, enc: 'hex' | 'base64url'): string => createHash('sha256').update(String(i)).digest(enc);
  const uuid = (i: number): string => digest(i, 'hex').slice(0, 32).replace(/^(.{8})(.{4})(.{4})(.{4})(.{12})$/, '$1-$2-$3-$4-$5');

  it('collapses 100,000 distinct ids in paths to the handful of routes they come from', () => {
    const r = new RouteResolver({ patterns: ['/carts/{cartId}'], unmatched: 'heuristic', maxRoutes: 100 });
    const routes = new Set<string>();
    const paths = new Set<string>();
    for (let i = 0; i < 100_000; i++) {
      const path = [
        () => `/users/${i}`,
        () => `/users/${i}/orders/${i * 7 + 3}`,
        () => `/orders/${uuid(i)}`,
        () => `/blobs/${createHash('sha1').update(String(i)).digest('hex')}`,
        () => `/sessions/${digest(i, 'base64url').slice(0, 32)}`,
        () => `/carts/${i}`,
        () => `/invoices/INV-${100000 + i}/pdf`,
      ][i % 7]!();
      paths.add(path);
      routes.add(r.resolve('shop', path)!.route);
    }
    expect(paths.size).toBe(100_000);
    expect([...routes].sort()).toEqual(['/blobs/{id}', '/carts/{cartId}', '/invoices/{id}/pdf', '/orders/{id}', '/sessions/{id}', '/users/{id}', '/users/{id}/orders/{id}']);
    expect(r.overflowed).toBe(0);
  });

  it('past max_routes per service, new routes become the overflow value; other services keep their own', () => {
    const r = new RouteResolver({ patterns: [], unmatched: 'heuristic', maxRoutes: 3 });
    const words = ['alpha', 'beta', 'gamma', 'delta', 'epsilon'];
    expect(words.map((w) => r.resolve('a', `/${w}`)!.route)).toEqual(['/alpha', '/beta', '/gamma', ROUTE_OVERFLOW, ROUTE_OVERFLOW]);
    expect(r.resolve('a', '/beta')!.route).toBe('/beta');
    expect(r.resolve('b', '/delta')!.route).toBe('/delta');
    expect(r.overflowed).toBe(2);
    expect(r.routesOf('a').size).toBe(3);
  });

  it('follows routes.unmatched: path, wildcard, unset', () => {
    const path = new RouteResolver({ patterns: [], unmatched: 'path', maxRoutes: 10 });
    expect(path.resolve('s', '/users/42')).toEqual({ route: '/users/42', configured: false });
    const wildcard = new RouteResolver({ patterns: ['/users/{id}'], unmatched: 'wildcard', maxRoutes: 10 });
    expect(wildcard.resolve('s', '/orders/1')!.route).toBe('/**');
    expect(wildcard.resolve('s', '/users/1')).toEqual({ route: '/users/{id}', configured: true });
    const unset = new RouteResolver({ patterns: [], unmatched: 'unset', maxRoutes: 10 });
    expect(unset.resolve('s', '/users/42')).toBeUndefined();
  });
});
