// The compatibility shim that lets @tensorflow/tfjs-node(-gpu) 4.22 load on Node ≥ 23, where the
// legacy util.is* helpers are gone (app/learning/tfjs-node-shim.ts). tfjs-node itself cannot be
// installed here (no libtensorflow), so the shim is tested on this Node's real `util` module,
// with the helpers removed as Node 23 removed them, and read back through CommonJS require as
// tfjs-node's nodejs_kernel_backend.js does.
import { createRequire } from 'node:module';
import util from 'node:util';
import { afterEach, describe, expect, it } from 'vitest';
import { installTfjsNodeShim } from '../../app/learning/tfjs-node-shim.ts';

const REMOVED_IN_NODE_23 = ['isBoolean', 'isBuffer', 'isDate', 'isError', 'isFunction', 'isNull', 'isNullOrUndefined', 'isNumber', 'isObject', 'isPrimitive', 'isRegExp', 'isString', 'isSymbol', 'isUndefined'];
const u = util as unknown as Record<string, unknown>;
const saved = new Map(REMOVED_IN_NODE_23.map((k) => [k, Object.getOwnPropertyDescriptor(u, k)]));

afterEach(() => {
  for (const [k, d] of saved) {
    delete u[k];
    if (d) Object.defineProperty(u, k, d);
  }
});

describe('installTfjsNodeShim', () => {
  it(`on this Node (${process.versions.node}) it adds exactly the helpers that are missing`, () => {
    const missing = REMOVED_IN_NODE_23.filter((k) => typeof u[k] !== 'function');
    expect(installTfjsNodeShim()).toEqual(missing);
    expect(installTfjsNodeShim()).toEqual([]);
  });

  it('restores the helpers on a util without them (Node 23/24), seen through require("util")', () => {
    for (const k of REMOVED_IN_NODE_23) delete u[k];
    const cjsUtil = createRequire(import.meta.url)('util') as Record<string, unknown>;
    expect(cjsUtil.isNullOrUndefined).toBeUndefined();
    expect(installTfjsNodeShim()).toEqual(expect.arrayContaining(REMOVED_IN_NODE_23));
    const isNullOrUndefined = cjsUtil.isNullOrUndefined as (v: unknown) => boolean;
    // What nodejs_kernel_backend.js asks of it: attribute values that are null or undefined.
    expect([null, undefined, 0, '', false, NaN, {}].map(isNullOrUndefined)).toEqual([true, true, false, false, false, false, false]);
  });

  it('the restored helpers follow the semantics Node documented (DEP0044–DEP0058)', () => {
    const target: Record<string, unknown> = {};
    installTfjsNodeShim(target);
    const f = (k: string) => target[k] as (v: unknown) => boolean;
    const table: Array<[string, unknown, boolean]> = [
      ['isArray', [], true], ['isArray', {}, false], ['isBoolean', false, true], ['isBoolean', 0, false],
      ['isBuffer', Buffer.alloc(1), true], ['isBuffer', new Uint8Array(1), false], ['isDate', new Date(), true],
      ['isError', new TypeError('x'), true], ['isFunction', () => 0, true], ['isNull', null, true], ['isNull', undefined, false],
      ['isNumber', NaN, true], ['isObject', null, false], ['isObject', [], true], ['isObject', () => 0, false],
      ['isPrimitive', 'a', true], ['isPrimitive', null, true], ['isPrimitive', {}, false], ['isRegExp', /a/, true],
      ['isString', 'a', true], ['isSymbol', Symbol('s'), true], ['isUndefined', undefined, true], ['isUndefined', null, false],
    ];
    for (const [name, v, want] of table) expect(f(name)(v), `${name}(${String(v)})`).toBe(want);
  });
});
