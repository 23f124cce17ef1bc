/**
 * An edit session: the working copy of a case's masks (one per structure, schema order), the CT
 * for the threshold brush, the undo history, and the slices edited per structure and axis (the
 * keys of an interpolation). No I/O: the services load it from a version and save it as one.
 */
import type { EditOp, EditPatch, VersionRef } from '../contract/review.ts';
import type { Vec3, VoxelArray } from '../imaging/volume.ts';
import { OsteonError } from '../util/errors.ts';
import {
  applyChangesInPlace, brushRegion, fillRegion, interpolateRegion, planRegionEdit, stepBox, type Axis, type EditGrid, type EditStep, type HierarchyRules,
} from './edit.ts';
import { EditHistory } from './history.ts';

export interface SessionStructure {
  id: string;
  name: string;
  role: 'whole' | 'part';
  colour: string;
  /** Label-map values, when the schema has them (decides whether the whole contains a part). */
  values?: readonly number[];
}

export interface HierarchyChoice {
  paintWhole?: boolean;
  eraseParts?: boolean;
}

export class EditSession {
  readonly caseId: string;
  #base: VersionRef;
  readonly grid: EditGrid;
  readonly structures: readonly SessionStructure[];
  readonly masks: Uint8Array[];
  readonly history: EditHistory;
  readonly #ct: VoxelArray;
  /** `${structure}:${axis}` → slices touched by strokes and fills. */
  readonly #edited = new Map<string, Set<number>>();
  #dirty = false;

  constructor(o: { caseId: string; base: VersionRef; grid: EditGrid; structures: SessionStructure[]; masks: Uint8Array[]; ct: VoxelArray; undoLimit?: number }) {
    const n = o.grid.dims[0] * o.grid.dims[1] * o.grid.dims[2];
    if (o.masks.length !== o.structures.length) throw new OsteonError({ code: 'internal', message: `${o.masks.length} masks for ${o.structures.length} structures` });
    if (o.masks.some((m) => m.length !== n) || o.ct.length !== n) throw new OsteonError({ code: 'internal', message: 'edit session: masks and CT must lie on one grid' });
    this.caseId = o.caseId;
    this.#base = o.base;
    this.grid = o.grid;
    this.structures = o.structures;
    this.masks = o.masks;
    this.#ct = o.ct;
    this.history = new EditHistory(o.undoLimit);
  }

  /** The version the working copy started from (or was last saved as). */
  get base(): VersionRef {
    return this.#base;
  }

  /** After a save: the working copy is now that version. */
  rebase(version: number): void {
    this.#base = version;
    this.#dirty = false;
  }

  get dirty(): boolean {
    return this.#dirty;
  }

  /** Channel of the whole, or -1. */
  get whole(): number {
    return this.structures.findIndex((s) => s.role === 'whole');
  }

  /**
   * Painting a part adds to the whole by default when the schema's whole contains the part: its
   * label values include the part's (pelvis = hips + sacrum + S1), or the schema gives no values
   * (mask and channel schemas: the whole is the bone, the parts lie in it).
   */
  get paintWholeDefault(): boolean {
    const w = this.structures[this.whole];
    if (!w) return false;
    return this.structures.filter((s) => s.role === 'part').every((p) => !w.values || !p.values || p.values.every((v) => w.values!.includes(v)));
  }

  channelOf(structure: string): number {
    const c = this.structures.findIndex((s) => s.id === structure);
    if (c < 0) throw new OsteonError({ code: 'bad-input', message: `no structure '${structure}' (has ${this.structures.map((s) => s.id).join(', ')})` });
    return c;
  }

  rules(choice: HierarchyChoice): HierarchyRules {
    const parts = this.structures.map((s, i) => (s.role === 'part' ? i : -1)).filter((i) => i >= 0);
    return { whole: this.whole, parts, paintWhole: choice.paintWhole ?? this.paintWholeDefault, eraseParts: choice.eraseParts ?? true };
  }

  /** Plans, applies and records one operation; returns the step (empty when nothing changed). */
  apply(op: EditOp, choice: HierarchyChoice = {}): EditStep {
    const c = this.channelOf(op.structure);
    const axis = op.axis as Axis;
    let step: EditStep;
    switch (op.kind) {
      case 'brush':
      case 'erase': {
        const hu = op.hu ? { ct: this.#ct, min: op.hu.min, max: op.hu.max } : undefined;
        const region = brushRegion(this.grid, axis, op.slice, op.points as Vec3[], op.radiusMm, hu);
        step = planRegionEdit(this.masks, c, region, op.kind === 'brush' ? 1 : 0, this.rules(choice));
        this.#markEdited(op.structure, axis, op.slice);
        break;
      }
      case 'fill': {
        const region = fillRegion(this.masks[c], this.grid, axis, op.slice, op.seed as Vec3);
        step = planRegionEdit(this.masks, c, region, 1, this.rules(choice));
        this.#markEdited(op.structure, axis, op.slice);
        break;
      }
      case 'interpolate': {
        const keys = [...(this.#edited.get(`${op.structure}:${axis}`) ?? [])];
        const own = interpolateRegion(this.masks[c], this.grid, axis, keys, c);
        const rules = this.rules(choice);
        // New voxels of a part go to the whole as well, by the same rule as a brush.
        const extra = own.filter((x) => x.value === 1).flatMap((x) => planRegionEdit(this.masks, c, x.offsets, 1, rules).filter((y) => y.channel !== c));
        step = [...own, ...extra];
        break;
      }
      default: {
        const never: never = op;
        throw new Error(`unhandled edit ${String(never)}`);
      }
    }
    applyChangesInPlace(this.masks, step);
    this.history.push(step);
    if (step.length) this.#dirty = true;
    return step;
  }

  undo(): EditStep {
    const s = this.history.undo() ?? [];
    applyChangesInPlace(this.masks, s);
    if (s.length) this.#dirty = true;
    return s;
  }

  redo(): EditStep {
    const s = this.history.redo() ?? [];
    applyChangesInPlace(this.masks, s);
    if (s.length) this.#dirty = true;
    return s;
  }

  markSaved(): void {
    this.#dirty = false;
  }

  #markEdited(structure: string, axis: Axis, slice: number): void {
    const k = `${structure}:${axis}`;
    const set = this.#edited.get(k) ?? new Set<number>();
    set.add(slice);
    this.#edited.set(k, set);
  }

  /** The patch a renderer applies to its copy: the changed box and each changed channel's bytes there. */
  patch(step: EditStep): EditPatch {
    const box = stepBox(step, this.grid.dims);
    const channels = [...new Set(step.map((s) => s.channel))].sort((a, b) => a - b);
    const changedVoxels = step.reduce((n, s) => n + s.offsets.length, 0);
    const base = { caseId: this.caseId, box, changedVoxels, undo: this.history.undoCount, redo: this.history.redoCount, dirty: this.#dirty };
    if (!box) return { ...base, channels: [] };
    const [nx, ny] = this.grid.dims;
    const [i0, j0, k0, i1, j1, k1] = box;
    const w = i1 - i0, size = w * (j1 - j0) * (k1 - k0);
    return {
      ...base,
      channels: channels.map((ch) => {
        const m = this.masks[ch], out = new Uint8Array(size);
        let q = 0;
        for (let k = k0; k < k1; k++) for (let j = j0; j < j1; j++) {
          const row = i0 + nx * (j + ny * k);
          out.set(m.subarray(row, row + w), q);
          q += w;
        }
        return { channel: ch, data: Buffer.from(out.buffer, out.byteOffset, out.byteLength).toString('base64') };
      }),
    };
  }
}
