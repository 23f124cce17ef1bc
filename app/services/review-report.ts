/**
 * Builds the review report of cases of a project (app/review/report.ts) from the store: each
 * case's newest version (or its imported labels when it has none), its ground truth, review state
 * and the run its masks go back to; writes the HTML atomically and, on request, prints it to PDF
 * with Chromium headless (the browser host and `osteon report`; Electron can use printToPDF).
 */
import { spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { pathToFileURL } from 'node:url';
import type { VersionInfo } from '../contract/review.ts';
import { reportHtml, reportRows, reportView3d, type ReportCaseInput } from '../review/report.ts';
import { getCase } from '../store/cases.ts';
import type { Project } from '../store/project.ts';
import { readReview } from '../store/review.ts';
import { listVersions } from '../store/versions.ts';
import { writeFileAtomic } from '../util/atomic.ts';
import { OsteonError } from '../util/errors.ts';
import { caseSchema, groundTruth, masksOf, readCt } from './review.ts';

/** The training run a version's masks go back to: its own, or that of the version it was edited or restored from. */
export function runOf(versions: readonly VersionInfo[], v: VersionInfo | null): string | null {
  const seen = new Set<number>();
  while (v && !seen.has(v.version)) {
    seen.add(v.version);
    const s = v.source;
    if (s.kind === 'prediction') return s.runId;
    const of = s.kind === 'edit' || s.kind === 'restore' ? s.of : null;
    v = of === null ? null : versions.find((x) => x.version === of) ?? null;
  }
  return null;
}

export function reportInput(p: Project, caseId: string): ReportCaseInput {
  const c = getCase(p, caseId);
  const { schema } = caseSchema(p, caseId);
  const versions = listVersions(p.dir, caseId);
  const version = versions.at(-1) ?? null;
  const gt = c.files.labels ? groundTruth(p, caseId) : null;
  if (!version && !gt) throw new OsteonError({ code: 'usage', message: `case '${caseId}' has neither labels nor a saved version to report on` });
  const masks = version ? masksOf(p, caseId, version.version).masks : gt!.masks;
  const ct = readCt(p, caseId);
  return {
    caseId, caseName: c.name, dims: ct.geometry.dims, spacing: ct.geometry.spacing, direction: ct.geometry.direction, ct: ct.data,
    structures: schema.structures.map(({ id, name, colour, role }) => ({ id, name, colour, role })),
    masks, groundTruth: gt?.masks ?? null, version, runId: runOf(versions, version), review: readReview(p.dir, caseId),
  };
}

export function chromiumPath(): string | null {
  for (const c of [process.env.OSTEON_CHROMIUM, '/usr/bin/chromium', '/usr/bin/chromium-browser', '/usr/bin/google-chrome']) if (c && existsSync(c)) return c;
  return null;
}

/** Prints an HTML file to PDF with Chromium headless (A4, no header/footer). */
export function printPdf(htmlFile: string, pdfFile: string): void {
  const exe = chromiumPath();
  if (!exe) throw new OsteonError({ code: 'not-found', message: 'no Chromium found for PDF printing (install chromium or set OSTEON_CHROMIUM); the HTML report was written' });
  const profile = mkdtempSync(join(tmpdir(), 'osteon-pdf-'));
  const tmp = `${pdfFile}.${process.pid}.tmp.pdf`;
  try {
    const r = spawnSync(exe, ['--headless', '--no-sandbox', '--disable-gpu', '--no-first-run', '--disable-background-networking', `--user-data-dir=${profile}`,
      '--no-pdf-header-footer', `--print-to-pdf=${tmp}`, pathToFileURL(htmlFile).href], { encoding: 'utf8', timeout: 120_000 });
    if (r.status !== 0 || !existsSync(tmp)) throw new OsteonError({ code: 'internal', message: `Chromium could not print ${htmlFile} to PDF: ${(r.stderr || r.error?.message || '').slice(-500)}` });
    writeFileAtomic(pdfFile, readFileSync(tmp));
  } finally {
    rmSync(tmp, { force: true });
    rmSync(profile, { recursive: true, force: true });
  }
}

export interface ReportFiles {
  html: string;
  pdf: string | null;
  cases: number;
}

/** Writes the report of `caseIds` (default: every case); a summary page comes first when there is more than one case. */
export function writeReport(p: Project, caseIds: readonly string[] | undefined, out: { html: string; pdf?: string | null }): ReportFiles {
  const ids = caseIds?.length ? caseIds : p.file.cases.map((c) => c.id);
  if (!ids.length) throw new OsteonError({ code: 'usage', message: 'the project has no cases to report on' });
  const cases = ids.map((id) => {
    const input = reportInput(p, id);
    return { input, rows: reportRows(input), view3d: reportView3d(input) };
  });
  const html = resolve(out.html);
  mkdirSync(join(html, '..'), { recursive: true });
  writeFileAtomic(html, reportHtml(`${p.file.name}: review report`, cases, cases.length > 1));
  const pdf = out.pdf ? resolve(out.pdf) : null;
  if (pdf) printPdf(html, pdf);
  return { html, pdf, cases: cases.length };
}
