// The GPU host protocol's pieces that need no browser: the binary frame codec (what the
// WebSocket carries), the schemas' refusals, and the driver's error paths (an error result, a
// malformed answer, a page that goes away). The page itself runs in test/e2e/gpu-host.test.ts.
import { describe, expect, it } from 'vitest';
import { decodeMessage, encodeMessage } from '../../app/learning/gpu-host/codec.ts';
import { ToHost, type HostLink } from '../../app/learning/gpu-host/protocol.ts';
import { GpuHostDriver } from '../../app/learning/gpu-host-driver.ts';

describe('frame codec', () => {
  it('round-trips typed arrays as raw bytes, views and empties included', () => {
    const base = new Float32Array([9, 1.5, -2, 3e-8, 7]);
    const msg = { t: 'call', id: 3, call: { op: 'step', batch: { x: base.subarray(1, 4), labels: new Int32Array([0, 2, -1]), empty: new Float32Array(0), mask: new Uint8Array([1, 0, 1]) } } };
    const back = decodeMessage(encodeMessage(msg)) as typeof msg;
    expect(back.call.batch.x).toBeInstanceOf(Float32Array);
    expect([...back.call.batch.x]).toEqual([1.5, -2, 3e-8].map(Math.fround));
    expect(back.call.batch.labels).toEqual(new Int32Array([0, 2, -1]));
    expect(back.call.batch.empty).toEqual(new Float32Array(0));
    expect(back.call.batch.mask).toEqual(new Uint8Array([1, 0, 1]));
    expect(back.id).toBe(3);
  });

  it('refuses frames that break the layout, with a reason', () => {
    expect(() => decodeMessage(new Uint8Array(2))).toThrow(/shorter than its header length/);
    const f = encodeMessage({ a: 1 });
    new DataView(f.buffer).setUint32(0, 9999, true);
    expect(() => decodeMessage(f)).toThrow(/header claims 9999 bytes/);
    const past = encodeMessage({ x: new Float32Array(4) });
    expect(() => decodeMessage(past.subarray(0, past.length - 4))).toThrow(/runs past the frame/);
    const bad = new TextEncoder().encode('{"x":{"$bin":0,"type":"Float64Array","length":1}}');
    const frame = new Uint8Array(4 + bad.length + 8);
    new DataView(frame.buffer).setUint32(0, bad.length, true);
    frame.set(bad, 4);
    expect(() => decodeMessage(frame)).toThrow(/malformed array reference/);
  });
});

describe('protocol schemas', () => {
  it('refuse a batch whose arrays are not typed arrays, and unknown ops', () => {
    const batch = { n: 1, shape: [4, 4], inChannels: 1, structures: 1, x: [0, 1], whole: null, labels: null, multiHot: null };
    expect(ToHost.safeParse({ t: 'call', id: 1, call: { op: 'step', batch } }).success).toBe(false);
    expect(ToHost.safeParse({ t: 'call', id: 1, call: { op: 'step', batch: { ...batch, x: new Float32Array(16) } } }).success).toBe(true);
    expect(ToHost.safeParse({ t: 'call', id: 1, call: { op: 'readFile', path: '/etc/passwd' } }).success).toBe(false);
  });
});

/** Two ends of an in-memory link; `page` answers with whatever the test says. */
function linkPair() {
  const toPage = new Set<(m: unknown) => void>(), toDriver = new Set<(m: unknown) => void>(), closers = new Set<(why: string) => void>();
  const driverSide: HostLink = {
    send: (m) => queueMicrotask(() => { for (const cb of toPage) cb(m); }),
    onMessage: (cb) => { toDriver.add(cb); return () => toDriver.delete(cb); },
    onClose: (cb) => { closers.add(cb); return () => closers.delete(cb); },
  };
  return {
    driverSide,
    onCall: (cb: (m: { id: number; call: { op: string } }) => void) => toPage.add(cb as (m: unknown) => void),
    answer: (m: unknown) => { for (const cb of toDriver) cb(m); },
    close: (why: string) => { for (const cb of closers) cb(why); },
  };
}

describe('GpuHostDriver', () => {
  it('resolves parsed values, rejects error results and malformed answers with the op named', async () => {
    const l = linkPair();
    const d = new GpuHostDriver(l.driverSide);
    l.onCall(({ id, call }) => {
      if (call.op === 'dispose') l.answer({ t: 'result', id, ok: true, value: {} });
      else if (call.op === 'weights') l.answer({ t: 'result', id, ok: false, error: { code: 'backend', message: 'webgpu: device lost' } });
      else l.answer({ t: 'result', id, ok: true, value: { loss: { total: 'NaN' }, ms: 1 } });
    });
    await expect(d.call({ op: 'dispose' })).resolves.toEqual({});
    await expect(d.call({ op: 'weights', optimizer: true })).rejects.toMatchObject({ code: 'backend', message: 'GPU host weights: webgpu: device lost' });
    await expect(d.call({ op: 'loss', batch: { n: 1, shape: [2, 2], inChannels: 1, structures: 1, x: new Float32Array(4), whole: null, labels: null, multiHot: null } }))
      .rejects.toThrow(/GPU host loss: malformed answer \(loss\.total/);
  });

  it('fails pending and later calls, and the hello, when the page goes away', async () => {
    const l = linkPair();
    const d = new GpuHostDriver(l.driverSide);
    const pending = d.call({ op: 'dispose' });
    l.close('its renderer is gone (crashed)');
    await expect(pending).rejects.toThrow('the GPU host went away (its renderer is gone (crashed))');
    await expect(d.hello).rejects.toThrow(/went away/);
    await expect(d.call({ op: 'dispose' })).rejects.toThrow(/went away/);
    expect(d.closed).toMatch(/went away/);
  });
});
