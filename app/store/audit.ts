/**
 * The project's audit log: `audit.jsonl`, one JSON object per line, only ever appended
 * (O_APPEND), never rewritten. Each line records a user action and when it happened.
 */
import { appendFileSync, existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';

export const AUDIT_FILE = 'audit.jsonl';

export type AuditAction = 'project.create' | 'case.import' | 'case.approve' | 'case.export' | 'case.attachPrediction' | 'train' | 'infer'
  | 'version.save' | 'version.restore' | 'review.set' | 'predict.batch' | 'report';

export interface AuditEntry {
  time: string;
  action: AuditAction;
  /** Who acted: the OS user name when known. */
  user?: string;
  [key: string]: unknown;
}

export function appendAudit(projectDir: string, action: AuditAction, details: Record<string, unknown> = {}, now = new Date()): AuditEntry {
  const entry: AuditEntry = { time: now.toISOString(), action, ...details };
  // One write call per line with O_APPEND: concurrent writers interleave whole lines.
  appendFileSync(join(projectDir, AUDIT_FILE), JSON.stringify(entry) + '\n', { flag: 'a' });
  return entry;
}

export function readAudit(projectDir: string): AuditEntry[] {
  const path = join(projectDir, AUDIT_FILE);
  if (!existsSync(path)) return [];
  return readFileSync(path, 'utf8').split('\n').filter((l) => l.trim()).map((l) => JSON.parse(l) as AuditEntry);
}
