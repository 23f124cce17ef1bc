/**
 * A study's labels as Osteon keeps them: one binary mask per schema structure, all on one grid.
 * Overlaps are kept as they are (a voxel may be in the whole, in a part, in two parts); nothing
 * is flattened into one integer map until an encoding asks for it (encode.ts), and that
 * encoding refuses when it would lose information.
 *
 * Mask layout: Uint8Array of 0/1, voxel order of volume.ts (i fastest, then j, then k).
 */
import type { Geometry, VoxelArray } from '../imaging/volume.ts';
import { voxelCount } from '../imaging/volume.ts';
import { OsteonError, badInput } from '../util/errors.ts';
import type { LabelSchema, StructureDef } from './schema.ts';

export interface LabelSet {
  schema: LabelSchema;
  geometry: Geometry;
  /** masks[s] belongs to schema.structures[s]. */
  masks: Uint8Array[];
}

export function wholeIndex(set: LabelSet): number {
  return set.schema.structures.findIndex((s) => s.role === 'whole');
}

/** Structure indices of the parts, in class order (class id = position + 1). */
export function partIndices(set: LabelSet): number[] {
  const out: number[] = [];
  set.schema.structures.forEach((s, i) => { if (s.role === 'part') out.push(i); });
  return out;
}

export function structureIndex(set: LabelSet, id: string): number {
  const i = set.schema.structures.findIndex((s) => s.id === id);
  if (i < 0) {
    throw new OsteonError({ code: 'usage', message: `no structure "${id}" in schema "${set.schema.name}" (has ${set.schema.structures.map((s) => s.id).join(', ')})` });
  }
  return i;
}

/**
 * Pairwise intersection counts of the given masks in one pass over the voxels:
 * m[a][b] = |A ∩ B|, diagonal |A|. O(voxels · masks), whatever the number of pairs.
 */
export function intersections(masks: readonly Uint8Array[]): number[][] {
  const S = masks.length;
  const m = Array.from({ length: S }, () => new Array<number>(S).fill(0));
  if (S === 0) return m;
  const members = new Int32Array(S);
  const n = masks[0].length;
  for (let v = 0; v < n; v++) {
    let c = 0;
    for (let s = 0; s < S; s++) if (masks[s][v]) members[c++] = s;
    for (let x = 0; x < c; x++) {
      const row = m[members[x]];
      for (let y = 0; y < c; y++) row[members[y]]++;
    }
  }
  return m;
}

function checkShape(schema: LabelSchema, geometry: Geometry, masks: Uint8Array[]): void {
  if (masks.length !== schema.structures.length) {
    throw new OsteonError({ code: 'internal', message: `${masks.length} masks for ${schema.structures.length} structures` });
  }
  const n = voxelCount(geometry);
  masks.forEach((m, i) => {
    if (m.length !== n) throw new OsteonError({ code: 'internal', message: `mask "${schema.structures[i].id}" has ${m.length} voxels, grid has ${n}` });
  });
}

export function makeLabelSet(schema: LabelSchema, geometry: Geometry, masks: Uint8Array[]): LabelSet {
  checkShape(schema, geometry, masks);
  return { schema, geometry, masks };
}

/**
 * Label map → masks: a voxel is in a structure when its value is one of the structure's
 * `source.values`. Values must be integers (a float label map with 2.5 in it is refused).
 */
export function fromLabelMap(schema: LabelSchema, geometry: Geometry, data: VoxelArray, file: string): LabelSet {
  const n = voxelCount(geometry);
  if (data.length !== n) throw badInput(file, 'data', `${data.length} values for a grid of ${n} voxels (a multi-channel file is not a label map)`);
  let max = 0;
  for (let v = 0; v < n; v++) {
    const x = data[v];
    if (!Number.isInteger(x)) throw badInput(file, 'data', `value ${x} at voxel ${v} is not an integer; a label map holds integer labels`);
    if (x > max) max = x;
  }
  const masks = schema.structures.map((st) => {
    if (st.source.kind !== 'labelmap') throw badInput(file, `structure ${st.id}`, `source is "${st.source.kind}", not "labelmap"`, 'usage');
    const lut = new Uint8Array(Math.max(max, ...st.source.values) + 1);
    for (const val of st.source.values) lut[val] = 1;
    const m = new Uint8Array(n);
    for (let v = 0; v < n; v++) {
      const x = data[v];
      if (x > 0) m[v] = lut[x];
    }
    return m;
  });
  return makeLabelSet(schema, geometry, masks);
}

/** Copies a 0/1 mask into a Uint8Array; any other value is refused, naming the file. */
export function binaryMask(data: VoxelArray, file: string, field = 'data', offset = 0, n = data.length - offset): Uint8Array {
  const m = new Uint8Array(n);
  for (let v = 0; v < n; v++) {
    const x = data[offset + v];
    if (x === 1) m[v] = 1;
    else if (x !== 0) {
      throw badInput(file, field, `not a binary mask: value ${x} at voxel ${v}; expected only 0 and 1`);
    }
  }
  return m;
}

/** One binary mask per structure, in schema order; `files[s]` names mask s in errors. */
export function fromMasks(schema: LabelSchema, geometry: Geometry, data: VoxelArray[], files: string[]): LabelSet {
  const n = voxelCount(geometry);
  const masks = data.map((d, s) => {
    if (d.length !== n) throw badInput(files[s], 'data', `${d.length} values for a grid of ${n} voxels`);
    return binaryMask(d, files[s]);
  });
  return makeLabelSet(schema, geometry, masks);
}

/** Multi-channel volume (channel slowest, as volume.ts lays it out) → masks by `source.index`. */
export function fromChannels(schema: LabelSchema, geometry: Geometry, data: VoxelArray, channels: number, file: string): LabelSet {
  const n = voxelCount(geometry);
  if (data.length !== n * channels) throw badInput(file, 'data', `${data.length} values for ${channels} channels of ${n} voxels`);
  const masks = schema.structures.map((st: StructureDef) => {
    if (st.source.kind !== 'channel') throw badInput(file, `structure ${st.id}`, `source is "${st.source.kind}", not "channel"`, 'usage');
    if (st.source.index >= channels) {
      throw badInput(file, 'channels', `structure "${st.id}" reads channel ${st.source.index}, but the file has ${channels} channel${channels === 1 ? '' : 's'}`);
    }
    return binaryMask(data, file, `channel ${st.source.index}`, st.source.index * n, n);
  });
  return makeLabelSet(schema, geometry, masks);
}
