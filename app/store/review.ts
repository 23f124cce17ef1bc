/**
 * Per-structure review state of a case: `cases/<id>/review.json`, replaced atomically on every
 * change (app/util/atomic.ts) and each change appended to the audit log with who and when.
 */
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { z } from 'zod';
import { AuditLine, CaseReview, StructureReview, type ReviewReason, type ReviewState } from '../contract/review.ts';
import { writeJsonAtomic } from '../util/atomic.ts';
import { badInput } from '../util/errors.ts';
import { appendAudit, readAudit } from './audit.ts';
import { caseFolder } from './paths.ts';
import { osUser } from './versions.ts';

export const REVIEW_FORMAT = 'osteon-review/1';
const ReviewFile = z.strictObject({ format: z.literal(REVIEW_FORMAT), structures: z.array(StructureReview).max(256) });

export function reviewPath(projectDir: string, caseId: string): string {
  return join(caseFolder(projectDir, caseId), 'review.json');
}

export function readReview(projectDir: string, caseId: string): CaseReview {
  const f = reviewPath(projectDir, caseId);
  if (!existsSync(f)) return { caseId, structures: [] };
  let json: unknown;
  try { json = JSON.parse(readFileSync(f, 'utf8')); } catch (e) { throw badInput(f, '(json)', (e as Error).message); }
  const r = ReviewFile.safeParse(json);
  if (!r.success) throw badInput(f, r.error.issues[0]?.path.join('.') || '(top level)', r.error.issues[0]?.message ?? 'invalid');
  return { caseId, structures: r.data.structures };
}

export interface ReviewChange {
  structure: string;
  state: ReviewState;
  comment: string;
  reason: ReviewReason | null;
}

/** Sets one structure's state; `known` are the case's structure ids (others are refused). */
export function setReview(projectDir: string, caseId: string, known: readonly string[], change: ReviewChange, now = new Date()): CaseReview {
  if (!known.includes(change.structure)) throw badInput(caseId, 'structure', `no structure '${change.structure}' (has ${known.join(', ')})`);
  const current = readReview(projectDir, caseId);
  const entry: StructureReview = { ...change, user: osUser(), time: now.toISOString() };
  const structures = [...current.structures.filter((s) => s.structure !== change.structure), entry]
    .sort((a, b) => known.indexOf(a.structure) - known.indexOf(b.structure));
  writeJsonAtomic(reviewPath(projectDir, caseId), { format: REVIEW_FORMAT, structures });
  appendAudit(projectDir, 'review.set', { caseId, structure: change.structure, state: change.state, reason: change.reason, comment: change.comment, user: entry.user }, now);
  return { caseId, structures };
}

/** The case's lines of the project audit log, oldest first (entries naming the case). */
export function caseAudit(projectDir: string, caseId: string): AuditLine[] {
  // An entry names its case as caseId, or lists it (report: caseIds; predict.batch: cases[].caseId).
  const names = (e: Record<string, unknown>) => e.caseId === caseId
    || (Array.isArray(e.caseIds) && e.caseIds.includes(caseId))
    || (Array.isArray(e.cases) && e.cases.some((c: unknown) => typeof c === 'object' && c !== null && (c as { caseId?: unknown }).caseId === caseId));
  return readAudit(projectDir).filter(names).map((e) => {
    const { time, action, user, ...rest } = e;
    return { time: String(time).slice(0, 64), action: String(action).slice(0, 64), user: typeof user === 'string' ? user.slice(0, 200) : null, detail: JSON.stringify(rest).slice(0, 8192) };
  });
}
