/**
 * The project's audit log: `audit.jsonl`, one JSON object per line, only ever appended
 * (O_APPEND), never rewritten. Each line records a user action and when it happened.
 *
 * A kill or a full disk can leave a torn last line. Reading skips (and reports) lines that do
 * not parse instead of failing, and the next append first ends the torn line, so one bad write
 * never makes the whole log unreadable.
 */
import { closeSync, existsSync, fstatSync, fsyncSync, openSync, readFileSync, readSync } from 'node:fs';
import { join } from 'node:path';
import { writeAll, writeError } from '../util/atomic.ts';

export const AUDIT_FILE = 'audit.jsonl';

export type AuditAction = 'project.create' | 'case.import' | 'case.approve' | 'case.export' | 'case.exportAs' | 'case.attachPrediction' | 'case.importSeg' | 'train' | 'infer'
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
  const path = join(projectDir, AUDIT_FILE);
  try {
    const fd = openSync(path, 'a+');
    try {
      // A torn last line (no trailing newline) is closed first, so this entry parses on its own.
      const size = fstatSync(fd).size;
      let lead = '';
      if (size > 0) {
        const last = Buffer.alloc(1);
        readSync(fd, last, 0, 1, size - 1);
        if (last[0] !== 10) lead = '\n';
      }
      // One write call per line with O_APPEND: concurrent writers interleave whole lines.
      writeAll(fd, Buffer.from(lead + JSON.stringify(entry) + '\n', 'utf8'));
      fsyncSync(fd);
    } finally {
      closeSync(fd);
    }
  } catch (e) {
    throw writeError(path, e);
  }
  return entry;
}

export interface AuditRead {
  entries: AuditEntry[];
  /** Lines that did not parse (a torn write), 1-based, with the reason. */
  skipped: Array<{ line: number; reason: string }>;
}

/** Every entry that parses, and the lines skipped. */
export function readAuditReport(projectDir: string): AuditRead {
  const path = join(projectDir, AUDIT_FILE);
  const out: AuditRead = { entries: [], skipped: [] };
  if (!existsSync(path)) return out;
  readFileSync(path, 'utf8').split('\n').forEach((l, i) => {
    if (!l.trim()) return;
    try {
      const v = JSON.parse(l) as unknown;
      if (v && typeof v === 'object' && !Array.isArray(v) && typeof (v as AuditEntry).action === 'string') out.entries.push(v as AuditEntry);
      else out.skipped.push({ line: i + 1, reason: 'not an audit entry' });
    } catch (e) {
      out.skipped.push({ line: i + 1, reason: `torn or corrupt line (${(e as Error).message})` });
    }
  });
  return out;
}

export function readAudit(projectDir: string): AuditEntry[] {
  return readAuditReport(projectDir).entries;
}
