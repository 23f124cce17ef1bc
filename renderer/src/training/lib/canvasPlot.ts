/**
 * The shared frame of the small canvas charts (box plots, grouped bars): a HiDPI-sized 2D
 * context, a value axis with five grid lines over `range`, and category slots along x.
 */
export interface PlotFrame {
  ctx: CanvasRenderingContext2D;
  /** Value → y pixel (clamped to the range). */
  y: (v: number) => number;
  left: number;
  /** Width of one category slot. */
  slot: number;
  /** Draws a category label under slot k (shortened to 14 characters). */
  label: (k: number, text: string) => void;
}

export const AXIS_COLOUR = '#8c96a3';

export function beginPlot(c: HTMLCanvasElement, width: number, height: number, range: [number, number], categories: number): PlotFrame | null {
  const dpr = window.devicePixelRatio || 1;
  c.width = Math.round(width * dpr);
  c.height = Math.round(height * dpr);
  const ctx = c.getContext('2d');
  if (!ctx) return null;
  ctx.setTransform(dpr, 0, 0, dpr, 0, 0);
  ctx.clearRect(0, 0, width, height);
  const left = 40, bottom = 28, top = 8, plotH = height - top - bottom;
  const y = (v: number) => top + plotH * (1 - (Math.min(range[1], Math.max(range[0], v)) - range[0]) / (range[1] - range[0]));
  ctx.font = '11px sans-serif';
  ctx.strokeStyle = '#2a3039';
  ctx.fillStyle = AXIS_COLOUR;
  for (let t = 0; t <= 4; t++) {
    const v = range[0] + ((range[1] - range[0]) * t) / 4;
    ctx.beginPath(); ctx.moveTo(left, y(v)); ctx.lineTo(width - 4, y(v)); ctx.stroke();
    ctx.fillText(v.toFixed(2), 4, y(v) + 4);
  }
  const slot = (width - left - 8) / Math.max(1, categories);
  const label = (k: number, text: string) => {
    ctx.fillStyle = AXIS_COLOUR;
    ctx.textAlign = 'center';
    ctx.fillText(text.length > 14 ? `${text.slice(0, 13)}…` : text, left + slot * (k + 0.5), height - 10);
    ctx.textAlign = 'left';
  };
  return { ctx, y, left, slot, label };
}
