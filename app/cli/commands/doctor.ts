/**
 * `osteon doctor [--json] [--skip-selftest]`: which tfjs backend Osteon runs on and why the
 * better ones did not load, the custom kernels registered, versions, CPUs, and a quick
 * self-test of the convolution gradients against tfjs's cpu backend.
 */
import { cpus, platform, arch } from 'node:os';
import type { Command } from '../command.ts';
import { BackendInitError, initBackend, tf, type BackendAttempt, type BackendReport } from '../../learning/backend.ts';
import type { AdapterSummary } from '../../learning/webgpu/device.ts';
import { loadNodeWebgpu } from '../../learning/webgpu/node.ts';
import { runSelfTest, type SelfTestCheck } from '../../learning/kernels/selftest.ts';
import { bf16Support } from '../../learning/native/infer-net.ts';
import { OsteonError } from '../../util/errors.ts';

interface DoctorReport {
  ok: boolean;
  backend: BackendReport | null;
  /** Why no backend started (then `attempts` lists each candidate's reason). */
  error?: string;
  attempts: BackendAttempt[];
  versions: { node: string; tfjs: string; tfjsCore: string };
  cpu: { count: number; model: string; platform: string };
  selfTest: SelfTestCheck[] | null;
  /** The WebGPU adapter Dawn found, or why there is none (also when another rung was chosen). */
  webgpu: { adapter: AdapterSummary | null; reason?: string };
  /** Whether inference can run in bf16 here (`osteon infer --precision`), oneDNN's ISA, and why not. */
  bf16?: { ok: boolean; isa: string | null; reason: string | null };
}

function formatAdapter(w: DoctorReport['webgpu']): string[] {
  const a = w.adapter;
  if (!a) return [`webgpu adapter: none (${w.reason ?? 'unknown'})`];
  const mib = (b: number) => `${Math.round(b / 2 ** 20)} MiB`;
  const l = a.limits;
  return [
    `webgpu adapter: vendor ${a.vendor || '?'}, architecture ${a.architecture || '?'}, device ${a.device || '?'}${a.description ? `, ${a.description}` : ''}${a.software ? ' (software: correct, not fast)' : ''}`,
    `  limits: maxStorageBufferBindingSize ${mib(l.maxStorageBufferBindingSize)}, maxBufferSize ${mib(l.maxBufferSize)}, maxStorageBuffersPerShaderStage ${l.maxStorageBuffersPerShaderStage}, maxComputeWorkgroupStorageSize ${l.maxComputeWorkgroupStorageSize} B, maxComputeInvocationsPerWorkgroup ${l.maxComputeInvocationsPerWorkgroup}`,
  ];
}

function format(r: DoctorReport): string {
  const lines: string[] = [];
  if (r.backend) {
    lines.push(`backend: ${r.backend.name} (${r.backend.package}), ${r.backend.threads} thread(s), preference ${r.backend.preference}`);
  } else {
    lines.push(`backend: NONE: ${r.error ?? 'unknown error'}`);
  }
  lines.push('ladder:');
  for (const a of r.attempts) lines.push(`  ${a.ok ? 'ok  ' : 'no  '} ${a.candidate.padEnd(13)} ${a.ok ? a.note ?? 'loaded' : a.reason ?? ''}`);
  lines.push(...formatAdapter(r.webgpu));
  if (r.bf16) lines.push(r.bf16.ok ? `bf16 inference: available (oneDNN ${r.bf16.isa}); --precision auto uses it on wasm+dnnl` : `bf16 inference: not available (${r.bf16.reason}); inference runs fp32`);
  lines.push(`custom kernels: ${r.backend?.kernels.join(', ') || 'none'}`);
  lines.push(`versions: node ${r.versions.node}, tfjs ${r.versions.tfjs}, tfjs-core ${r.versions.tfjsCore}`);
  lines.push(`cpu: ${r.cpu.count} x ${r.cpu.model} (${r.cpu.platform})`);
  if (r.selfTest) {
    lines.push('self-test (vs the cpu backend):');
    for (const c of r.selfTest) {
      const detail = c.error ? `error: ${c.error}` : `max|diff|/max|ref| = ${c.relDiff.toExponential(2)}`;
      lines.push(`  ${c.pass ? 'PASS' : 'FAIL'} ${c.name}: ${detail}`);
    }
  }
  lines.push(r.ok ? 'doctor: OK' : 'doctor: PROBLEMS FOUND');
  return lines.join('\n');
}

export const command: Command = {
  name: 'doctor',
  summary: 'Show the ML backend in use, why faster ones did not load, and self-test its kernels',
  usage: '[--json] [--skip-selftest] [--require-webgpu]',
  help: [
    'Tries the backends best first: @tensorflow/tfjs-node-gpu (CUDA), webgpu (Dawn: any GPU with',
    'a Vulkan, D3D12 or Metal driver), @tensorflow/tfjs-node, wasm+dnnl, wasm (with Osteon\'s own',
    'convolution kernels), cpu; prints the one in use and, for each one not used, why (package',
    'not installed, CUDA libraries not found, software adapter, ...). Set OSTEON_BACKEND to one',
    'of tfjs-node-gpu, webgpu, tfjs-node, wasm+dnnl, wasm, cpu to force a backend.',
    '',
    'The WebGPU adapter is shown with its vendor, architecture, device and limits. A software',
    'adapter (lavapipe, SwiftShader) is passed over by auto; force it with OSTEON_BACKEND=webgpu.',
    '--require-webgpu exits 1 when there is no adapter (CI uses it).',
    '',
    'wasm+dnnl is the wasm backend with Osteon\'s optional oneDNN kernels (native/dnnl, built at',
    'install when libdnnl-dev and a C++ compiler are present); its line says why it is missing',
    '("addon not built: ...", "libdnnl not found", "OSTEON_NATIVE=0"). OSTEON_NATIVE=0 turns it',
    'off; OSTEON_THREADS sets its OpenMP threads (default: one per CPU).',
    'The wasm rung splits its convolutions over helper threads; OSTEON_WASM_THREADS sets how many',
    'threads in all (default: one per CPU, at most 4; 1 turns the helpers off).',
    '',
    'The self-test computes a few small convolution gradients on the active backend and on',
    'tfjs\'s cpu backend and compares them (PASS when they agree to 1e-4 of their magnitude).',
    '',
    'Exit 0 when a backend works and the self-test passes, 1 otherwise.',
  ].join('\n'),
  options: {
    json: { type: 'boolean' },
    'skip-selftest': { type: 'boolean' },
    'require-webgpu': { type: 'boolean' },
  },
  optionHelp: {
    json: 'print the backend report and self-test as JSON',
    'skip-selftest': 'only report the backend ladder; skip the gradient self-test',
    'require-webgpu': 'exit 1 when there is no WebGPU adapter (CI uses it)',
  },
  allowPositionals: false,
  async run({ values, io }) {
    const report: DoctorReport = {
      ok: false,
      backend: null,
      attempts: [],
      versions: { node: process.versions.node, tfjs: tf.version.tfjs, tfjsCore: tf.version_core },
      cpu: { count: cpus().length, model: cpus()[0]?.model.trim() ?? 'unknown', platform: `${platform()}-${arch()}` },
      selfTest: null,
      webgpu: { adapter: null },
    };
    try {
      report.backend = await initBackend();
      report.attempts = report.backend.attempts;
    } catch (e) {
      if (e instanceof OsteonError && e.code === 'usage') throw e;
      report.error = e instanceof Error ? e.message : String(e);
      if (e instanceof BackendInitError) report.attempts = e.attempts;
    }
    const gpu = await loadNodeWebgpu().catch((e: unknown) => (e instanceof Error ? e.message : String(e)));
    report.webgpu = typeof gpu === 'string' ? { adapter: null, reason: gpu } : { adapter: gpu.adapter };
    if (report.backend && !values['skip-selftest']) report.selfTest = await runSelfTest();
    report.bf16 = bf16Support();
    report.ok = report.backend !== null && (report.selfTest ?? []).every((c) => c.pass) && (!values['require-webgpu'] || report.webgpu.adapter !== null);
    io.out(values.json ? JSON.stringify(report, null, 2) : format(report));
    return report.ok ? 0 : 1;
  },
};
