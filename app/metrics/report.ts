/**
 * Everything Osteon measures for one "whole structure + parts" case, in one call: per-channel
 * Dice/HD95/MSD/NSD (channel 0 = whole, 1..P = parts), boundary Dice between adjacent parts,
 * hierarchy consistency for prediction and ground truth, and the channel-collapse finding.
 * Masks: one 0/1 array per channel on one grid (x fastest, ./grid.ts). Inputs are not modified.
 */
import { boundaryDiceAll, type BoundaryDice } from './boundary.ts';
import { detectChannelCollapse, type CollapseFinding } from './collapse.ts';
import { evaluateCase, type ChannelMetrics } from './evaluate.ts';
import type { Grid, Mask } from './grid.ts';
import { hierarchyConsistency, type Hierarchy, type HierarchyStats } from './hierarchy.ts';

export interface CaseReportOptions {
  /** Boundary band half-width in mm (default 2). */
  boundaryRadiusMm?: number;
  /** NSD tolerances in mm (default [1, 2]). */
  nsdToleranceMm?: readonly number[];
  /** Names for messages, whole first (default 'whole', 'part 1', ...). */
  channelNames?: readonly string[];
}

export interface CaseReport {
  channelNames: string[];
  channels: ChannelMetrics[];
  boundary: BoundaryDice[];
  hierarchy: { pred: HierarchyStats; gt: HierarchyStats };
  collapse: CollapseFinding | null;
}

export function caseReport(pred: Hierarchy, gt: Hierarchy, grid: Grid, opts: CaseReportOptions = {}): CaseReport {
  if (pred.parts.length !== gt.parts.length) throw new RangeError(`report: ${pred.parts.length} predicted parts, ${gt.parts.length} target parts`);
  const names = [...(opts.channelNames ?? ['whole', ...gt.parts.map((_, i) => `part ${i + 1}`)])];
  const p: Mask[] = [pred.whole, ...pred.parts], g: Mask[] = [gt.whole, ...gt.parts];
  return {
    channelNames: names,
    channels: evaluateCase(p, g, grid, { nsdToleranceMm: opts.nsdToleranceMm ?? [1, 2] }),
    // part indices in the report are channel indices (parts start at channel 1)
    boundary: boundaryDiceAll(pred.parts, gt.parts, grid, opts.boundaryRadiusMm ?? 2).map((b) => ({ ...b, parts: [b.parts[0] + 1, b.parts[1] + 1] })),
    hierarchy: hierarchyConsistency(pred, gt),
    collapse: detectChannelCollapse([p], [g], { channelNames: names }),
  };
}
