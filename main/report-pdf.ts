/**
 * The review report's PDF in the desktop app (docs/review.md): Electron's `webContents.printToPDF`
 * instead of a Chromium child process. The services write the report HTML as for every host
 * (app/services/review-report.ts, with `pdf: false`); main then prints that one file in a hidden,
 * offscreen, sandboxed window with JavaScript off, in its own in-memory session that loads nothing
 * but that file and inline data: images (the HTML's own CSP says the same), and writes the PDF
 * next to it atomically. Everything else (pages, key images, 3D view, paper size from the CSS)
 * is shared with the browser host, which prints the same HTML with Chromium headless.
 */
import { BrowserWindow, session } from 'electron';
import { dirname, join } from 'node:path';
import { pathToFileURL } from 'node:url';
import type { Contract, Handlers } from '../app/contract/index.ts';
import { writeFileAtomic } from '../app/util/atomic.ts';

type ReportBuild = Handlers<Contract>['report.build'];

let partition = 0;

/** Prints `htmlFile` (a local, self-contained report) to `pdfFile` with printToPDF. */
export async function printReportPdf(htmlFile: string, pdfFile: string): Promise<void> {
  const allowed = pathToFileURL(htmlFile).href;
  // A fresh in-memory session per print: nothing shared with the app's pages, nothing kept.
  const ses = session.fromPartition(`osteon-report-${++partition}`, { cache: false });
  ses.setPermissionRequestHandler((_wc, _p, cb) => cb(false));
  ses.setPermissionCheckHandler(() => false);
  ses.webRequest.onBeforeRequest((details, cb) => cb({ cancel: !(details.url === allowed || details.url.startsWith('data:')) }));
  const win = new BrowserWindow({
    show: false, width: 794, height: 1123,
    webPreferences: {
      session: ses, offscreen: true, javascript: false, sandbox: true, contextIsolation: true, nodeIntegration: false,
      nodeIntegrationInWorker: false, nodeIntegrationInSubFrames: false, webSecurity: true, allowRunningInsecureContent: false,
      webviewTag: false, spellcheck: false, devTools: false, images: true,
    },
  });
  try {
    await win.loadURL(allowed);
    const pdf = await win.webContents.printToPDF({ printBackground: true, preferCSSPageSize: true, displayHeaderFooter: false });
    writeFileAtomic(pdfFile, pdf);
  } finally {
    win.destroy();
    await ses.clearStorageData().catch(() => undefined);
  }
}

/**
 * `report.build` for the desktop app: the services write the HTML only, main prints the PDF
 * when one was asked for (the default). `forward` is the services' handler.
 */
export function reportBuildWithPrintToPdf(forward: ReportBuild): ReportBuild {
  return async (req, ctx) => {
    const r = await forward({ ...req, pdf: false }, ctx);
    if (req.pdf === false) return r;
    const pdf = join(dirname(r.html), 'report.pdf');
    await printReportPdf(r.html, pdf);
    return { ...r, pdf, url: r.url?.replace(/report\.html$/, 'report.pdf') ?? null };
  };
}
