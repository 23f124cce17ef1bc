/** A one-line progress bar on a terminal's stderr (drawn only when stderr is a TTY). */
import type { CliIo } from './command.ts';

export function formatDuration(sec: number): string {
  if (!Number.isFinite(sec)) return '?';
  const s = Math.round(sec);
  const h = Math.floor(s / 3600), m = Math.floor((s % 3600) / 60), r = s % 60;
  return h ? `${h}h${String(m).padStart(2, '0')}m` : m ? `${m}m${String(r).padStart(2, '0')}s` : `${r}s`;
}

export function progressBar(io: CliIo) {
  let last = 0;
  return {
    update(fraction: number, text: string): void {
      if (!io.isTty) return;
      const now = Date.now();
      if (now - last < 100 && fraction < 1) return;
      last = now;
      const width = 24, full = Math.round(Math.max(0, Math.min(1, fraction)) * width);
      process.stderr.write(`\r[${'#'.repeat(full)}${'.'.repeat(width - full)}] ${(fraction * 100).toFixed(0).padStart(3)}% ${text}\x1b[K`);
    },
    clear(): void {
      if (io.isTty) process.stderr.write('\r\x1b[K');
    },
  };
}
