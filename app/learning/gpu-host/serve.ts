/**
 * The page's side of the protocol: parses each call, runs it on HostCompute one at a time (tfjs
 * state is not reentrant), answers a result, and says hello first. gpuhost/main.ts runs it on
 * Chromium's WebGPU; the Electron wiring test runs the same code on the cpu backend.
 */
import { HostCompute } from './compute.ts';
import { ToHost, type FromHost, type Hello, type HostLink } from './protocol.ts';

export function serveHost(link: HostLink, hello: Omit<Hello, 't'>, onStatus: (text: string) => void = () => undefined): HostCompute {
  const compute = new HostCompute();
  const send = (m: FromHost) => link.send(m);
  let chain: Promise<void> = Promise.resolve();
  link.onMessage((raw) => {
    const m = ToHost.safeParse(raw);
    if (!m.success) {
      const id = (raw as { id?: unknown } | null)?.id;
      const issue = m.error.issues[0];
      if (Number.isSafeInteger(id) && (id as number) >= 0) send({ t: 'result', id: id as number, ok: false, error: { code: 'bad-request', message: `GPU host: ${issue?.path.join('.')}: ${issue?.message}` } });
      return;
    }
    const { id, call } = m.data;
    chain = chain.then(async () => {
      onStatus(`${call.op} ${id}`);
      try {
        if (!hello.adapter) throw new Error(hello.reason ?? 'no WebGPU adapter');
        send({ t: 'result', id, ok: true, value: await compute.run(call) });
      } catch (e) {
        send({ t: 'result', id, ok: false, error: { code: 'backend', message: e instanceof Error ? e.message : String(e) } });
      }
      onStatus(`idle after ${call.op} ${id}`);
    });
  });
  send({ t: 'hello', ...hello });
  return compute;
}
