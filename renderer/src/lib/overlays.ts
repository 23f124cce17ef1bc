/**
 * Which label voxels get which colour in the slice previews. A multi-channel label volume has
 * one 0/1 channel per schema structure (schema order); a single-channel label map is coloured
 * by the schema's `source.values` when the schema is known, else one palette colour per value.
 */
import { hexToRgb, paletteColour, type OverlayChannel } from './slices.ts';

export interface StructureLite {
  id: string;
  colour: string;
  role: 'whole' | 'part';
  values?: readonly number[];
}

export interface LabelsLike {
  dims: [number, number, number];
  channels: number;
  data: ArrayLike<number>;
}

/** Distinct non-zero values of a label map, ascending, up to `max` of them. */
export function distinctValues(data: ArrayLike<number>, max = 64): number[] {
  const seen = new Set<number>();
  for (let i = 0; i < data.length && seen.size < max; i++) {
    const v = data[i];
    if (v !== 0) seen.add(v);
  }
  return [...seen].sort((a, b) => a - b);
}

export function buildOverlays(labels: LabelsLike, structures: readonly StructureLite[] | null): OverlayChannel[] {
  const n = labels.dims[0] * labels.dims[1] * labels.dims[2];
  if (labels.channels > 1) {
    return Array.from({ length: labels.channels }, (_, c) => {
      const s = structures?.[c];
      return { id: s?.id, base: c * n, values: null, colour: s ? hexToRgb(s.colour) : paletteColour(c), outline: s?.role === 'whole' };
    });
  }
  if (structures && structures.every((s) => s.values)) {
    return structures.map((s) => ({ id: s.id, base: 0, values: new Set(s.values), colour: hexToRgb(s.colour), outline: s.role === 'whole' }));
  }
  return distinctValues(labels.data).map((v, i) => ({ base: 0, values: new Set([v]), colour: paletteColour(i), outline: false }));
}

/**
 * Whether two overlay lists draw the same (ids, channels, values, colours, outlines). A Review
 * edit gives new labels with the same overlays; keeping the old list then spares the 3D view a
 * restyle and a frame (App.svelte).
 */
export function sameOverlays(a: readonly OverlayChannel[], b: readonly OverlayChannel[]): boolean {
  if (a.length !== b.length) return false;
  return a.every((x, i) => {
    const y = b[i];
    if (x.id !== y.id || x.base !== y.base || x.outline !== y.outline || x.colour.some((c, k) => c !== y.colour[k])) return false;
    if (!x.values || !y.values) return x.values === y.values;
    return x.values.size === y.values.size && [...x.values].every((v) => y.values!.has(v));
  });
}
