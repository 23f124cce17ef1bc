// The Review panel's pure helpers (renderer/src/review/lib.ts): a patch from the core's edit
// session (app/review/session.ts) lands in the renderer's copy exactly where the session changed
// it, and the TP/FP/FN codes of one structure between two versions.
import { describe, expect, it } from 'vitest';
import { EditSession } from '../../app/review/session.ts';
import { applyPatch, confusionCodes, fromBase64, sourceBackend, sourceLabel } from '../../renderer/src/review/lib.ts';

describe('applyPatch', () => {
  it('makes the renderer copy equal the session masks after strokes, undo and redo', () => {
    const dims: [number, number, number] = [7, 5, 4];
    const n = 7 * 5 * 4;
    const s = new EditSession({
      caseId: 'c', base: 1, grid: { dims, spacing: [1, 1, 2] }, ct: new Float32Array(n),
      structures: [{ id: 'w', name: 'W', role: 'whole', colour: '#fff' }, { id: 'p', name: 'P', role: 'part', colour: '#f00' }],
      masks: [new Uint8Array(n), new Uint8Array(n)],
    });
    const copy = new Uint8Array(2 * n);
    const same = () => expect(Array.from(copy)).toEqual([...s.masks[0], ...s.masks[1]]);
    applyPatch(copy, dims, s.patch(s.apply({ kind: 'brush', structure: 'p', axis: 2, slice: 1, points: [[1, 1, 1], [5, 3, 1]], radiusMm: 1 })));
    same();
    applyPatch(copy, dims, s.patch(s.apply({ kind: 'erase', structure: 'w', axis: 0, slice: 3, points: [[3, 2, 1]], radiusMm: 2 })));
    same();
    applyPatch(copy, dims, s.patch(s.undo()));
    same();
    applyPatch(copy, dims, s.patch(s.redo()));
    same();
    expect(copy.reduce((a, b) => a + b, 0)).toBeGreaterThan(0);
  });
  it('decodes base64 as the core encodes it', () => {
    expect(Array.from(fromBase64(Buffer.from([0, 1, 255, 7]).toString('base64')))).toEqual([0, 1, 255, 7]);
  });
});

describe('confusionCodes', () => {
  it('codes one channel: 1 both, 2 only in b (FP), 3 only in a (FN)', () => {
    // Two channels of 4 voxels; channel 1 compared.
    const a = Uint8Array.from([1, 1, 1, 1, 1, 1, 0, 0]);
    const b = Uint8Array.from([0, 0, 0, 0, 1, 0, 1, 0]);
    expect(Array.from(confusionCodes(a, b, 1, 4))).toEqual([1, 3, 2, 0]);
  });
  it('names version sources', () => {
    expect(sourceLabel({ kind: 'edit', of: 2 })).toBe('edit of v2');
    expect(sourceLabel({ kind: 'prediction', runId: 'run-a', checkpoint: 'best' })).toBe('prediction run-a');
    expect(sourceBackend({ kind: 'prediction', runId: 'run-a', checkpoint: 'best', backend: 'wasm+dnnl in this process' })).toBe('wasm+dnnl in this process');
    expect(sourceBackend({ kind: 'prediction', runId: 'run-a', checkpoint: 'best' })).toBeNull();
    expect(sourceBackend({ kind: 'edit', of: 2 })).toBeNull();
  });
});
