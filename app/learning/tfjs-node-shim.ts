/**
 * Lets @tensorflow/tfjs-node(-gpu) 4.22 load on Node ≥ 23 (Electron 40+ ships Node 24).
 * Node 23 removed the legacy `util.is*` helpers (DEP0044–DEP0058, nodejs/node#52744); tfjs-node
 * 4.22's `nodejs_kernel_backend.js` still calls `util.isNullOrUndefined` (and friends), so every
 * op with attributes throws "util_1.isNullOrUndefined is not a function". The fix is merged
 * upstream (tensorflow/tfjs#8425) but unreleased (#8609), so Osteon puts the helpers back on the
 * `util` module object that the package's CommonJS `require('util')` returns, with the
 * semantics Node documented for them. Helpers that still exist are left alone (Node 20, 22).
 */
import util from 'node:util';

const legacy: Record<string, (v: unknown) => boolean> = {
  isArray: (v) => Array.isArray(v),
  isBoolean: (v) => typeof v === 'boolean',
  isBuffer: (v) => Buffer.isBuffer(v),
  isDate: (v) => v instanceof Date,
  isError: (v) => v instanceof Error,
  isFunction: (v) => typeof v === 'function',
  isNull: (v) => v === null,
  isNullOrUndefined: (v) => v === null || v === undefined,
  isNumber: (v) => typeof v === 'number',
  isObject: (v) => v !== null && typeof v === 'object',
  isPrimitive: (v) => v === null || (typeof v !== 'object' && typeof v !== 'function'),
  isRegExp: (v) => v instanceof RegExp,
  isString: (v) => typeof v === 'string',
  isSymbol: (v) => typeof v === 'symbol',
  isUndefined: (v) => v === undefined,
};

/**
 * Adds the missing `util.is*` helpers; returns the names it added (none on Node ≤ 22).
 * `target` is for tests; the default is the shared `node:util` module object.
 */
export function installTfjsNodeShim(target: object = util): string[] {
  const u = target as Record<string, unknown>;
  const added: string[] = [];
  for (const [name, fn] of Object.entries(legacy)) {
    if (typeof u[name] === 'function') continue;
    Object.defineProperty(u, name, { value: fn, configurable: true, writable: true, enumerable: false });
    added.push(name);
  }
  return added;
}
