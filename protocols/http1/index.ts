export { Http1Parser } from './Http1Parser.js';
export { detectHttp1, type Http1Detection } from './detect.js';
export { DEFAULT_LIMITS, type Http1Limits, type Http1Stats } from './limits.js';
