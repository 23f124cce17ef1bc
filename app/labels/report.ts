/**
 * Renders a LabelAnalysis for people (aligned plain-text tables) and for machines (JSON with
 * non-finite numbers as the strings "Infinity" / "NaN", since JSON has no such numbers).
 */
import { DEFAULT_POS_WEIGHT_RULE, explainPosWeight, posWeightByRule } from './pos-weight.ts';
import type { LabelAnalysis } from './analysis.ts';

/** Aligned columns: numbers right-aligned, text left-aligned. */
export function table(header: string[], rows: (string | number)[][], indent = '  '): string[] {
  const cells = [header, ...rows.map((r) => r.map((c) => (typeof c === 'number' ? fmt(c) : c)))];
  const numeric = header.map((_, c) => rows.length > 0 && rows.every((r) => typeof r[c] === 'number' || r[c] === '-'));
  const width = header.map((_, c) => Math.max(...cells.map((r) => r[c].length)));
  return cells.map((r) => indent + r.map((c, i) => (numeric[i] ? c.padStart(width[i]) : c.padEnd(width[i]))).join('  ').trimEnd());
}

export function fmt(x: number, digits = 4): string {
  if (Number.isNaN(x)) return 'NaN';
  if (!Number.isFinite(x)) return x > 0 ? 'inf' : '-inf';
  if (Number.isInteger(x)) return String(x);
  return Number(x.toPrecision(digits)).toString();
}

export function wrap(text: string, width = 96, indent = '  '): string[] {
  const out: string[] = [];
  let line = '';
  for (const w of text.split(/\s+/)) {
    if (line && line.length + 1 + w.length > width) {
      out.push(indent + line);
      line = w;
    } else line = line ? `${line} ${w}` : w;
  }
  if (line) out.push(indent + line);
  return out;
}

/** JSON.stringify replacer: Infinity/NaN become strings (the oracle's convention). */
export function finiteJson(_key: string, value: unknown): unknown {
  if (typeof value === 'number' && !Number.isFinite(value)) {
    return Number.isNaN(value) ? 'NaN' : value > 0 ? 'Infinity' : '-Infinity';
  }
  return value;
}

/** Overlap as a matrix when it fits on screen, otherwise as a list of the pairs that overlap. */
function overlapLines(a: LabelAnalysis): string[] {
  const ids = a.overlap.ids, m = a.overlap.voxels;
  if (ids.length <= 8) {
    return ['Overlap (voxels in both; diagonal = size)', ...table(['', ...ids], ids.map((id, r) => [id, ...m[r]]))];
  }
  const rows: (string | number)[][] = [];
  for (let r = 0; r < ids.length; r++) for (let c = r + 1; c < ids.length; c++) if (m[r][c] > 0) rows.push([ids[r], ids[c], m[r][c]]);
  return rows.length === 0
    ? ['Overlap: no two structures share a voxel']
    : ['Overlap (pairs that share voxels)', ...table(['structure', 'structure', 'voxels'], rows)];
}

export function formatAnalysis(a: LabelAnalysis): string[] {
  const pw = new Map(a.posWeight.map((c) => [c.id, c.posWeight]));
  const suggested = new Map(a.posWeight.map((c) => [c.id, posWeightByRule(c, DEFAULT_POS_WEIGHT_RULE)]));
  const lines = [
    `Structures (schema "${a.schema}", ${a.voxels} voxels of ${fmt(a.voxelMm3)} mm³)`,
    ...table(['id', 'name', 'role', 'class', 'voxels', 'volume ml', 'pos_weight', `suggested (${DEFAULT_POS_WEIGHT_RULE})`],
      a.structures.map((s) => [s.id, s.name, s.role, s.classId ?? '-', s.voxels, Number(s.volumeMl.toFixed(2)), pw.get(s.id) ?? NaN, suggested.get(s.id) ?? NaN])),
    '',
    ...overlapLines(a),
    '',
  ];
  const wu = a.wholeVsUnion;
  if (wu) {
    lines.push(`Whole "${wu.whole}" vs union of parts`, ...table(['', 'voxels'], [
      ['union of parts', wu.unionVoxels],
      ['whole', wu.wholeVoxels],
      ['whole, in no part', wu.wholeNotUnion],
      ['in a part, not in whole', wu.unionNotWhole],
    ]), `  Dice(whole, union) = ${fmt(wu.dice, 6)}${wu.equal ? ' (identical)' : ''}`, '');
  } else {
    lines.push('Whole vs union: the schema has no whole', '');
  }
  if (!a.partsDisjoint) lines.push(`Parts overlap: ${a.multiPartVoxels} voxels belong to two or more parts`, '');
  lines.push(`Recommendation: ${a.recommendation.formulation}`, ...wrap(a.recommendation.reason), '');
  if (a.classWeights) {
    lines.push(`CrossEntropy class weights (${a.classWeights.method}: w = median(f) / f)`,
      ...table(['class', 'id', 'voxels', 'frequency', 'weight'], a.classWeights.classes.map((c) => [c.classId, c.id, c.voxels, c.frequency, c.weight])), '');
  } else {
    lines.push('CrossEntropy class weights: none (parts overlap, so there is no class map to weight)', '');
  }
  lines.push('BCE pos_weight per multi-hot channel = negatives / positives (column pos_weight above).',
    ...wrap(`Suggested for training: ${explainPosWeight()}`), 'Why not raw foreground counts as weights:', ...wrap(a.weightingNote));
  if (a.warnings.length) lines.push('', 'Warnings:', ...a.warnings.map((w) => `  - ${w}`));
  return lines;
}
