// Saving a chart or table from the page: a Blob behind a temporary link (no server round trip).

export function downloadBlob(blob: Blob, fileName: string): void {
  const url = URL.createObjectURL(blob);
  const a = document.createElement('a');
  a.href = url;
  a.download = fileName;
  document.body.append(a);
  a.click();
  a.remove();
  setTimeout(() => URL.revokeObjectURL(url), 1000);
}

export function downloadText(text: string, fileName: string, type = 'text/csv'): void {
  downloadBlob(new Blob([text], { type }), fileName);
}

/** A canvas as a PNG on the theme's background, with a title line above it. */
export function canvasPng(source: HTMLCanvasElement, title: string, fileName: string): void {
  const pad = 28;
  const out = document.createElement('canvas');
  out.width = source.width;
  out.height = source.height + pad;
  const ctx = out.getContext('2d');
  if (!ctx) return;
  ctx.fillStyle = '#13161b';
  ctx.fillRect(0, 0, out.width, out.height);
  ctx.fillStyle = '#d8dde5';
  ctx.font = '14px sans-serif';
  ctx.fillText(title, 8, 19);
  ctx.drawImage(source, 0, pad);
  out.toBlob((b) => { if (b) downloadBlob(b, fileName); }, 'image/png');
}

export function slug(s: string): string {
  return s.toLowerCase().replace(/[^a-z0-9]+/g, '-').replace(/^-|-$/g, '') || 'chart';
}
