/**
 * A toolbar with one tab stop (WAI-ARIA toolbar pattern): Tab enters at the last used control,
 * ArrowLeft/ArrowRight move between controls. Used as a Svelte action: `use:roving`.
 */
export function roving(node: HTMLElement): { destroy(): void } {
  const items = (): HTMLElement[] => [...node.querySelectorAll<HTMLElement>('button, select, input')];
  let active = 0;
  const sync = (): void => {
    items().forEach((el, i) => {
      const t = i === active ? 0 : -1;
      if (el.tabIndex !== t) el.tabIndex = t;
    });
  };
  const onKey = (e: KeyboardEvent): void => {
    if (e.key !== 'ArrowRight' && e.key !== 'ArrowLeft') return;
    const list = items();
    const cur = list.indexOf(e.target as HTMLElement);
    if (cur < 0) return;
    active = (cur + (e.key === 'ArrowRight' ? 1 : -1) + list.length) % list.length;
    sync();
    list[active].focus();
    e.preventDefault();
    e.stopPropagation();
  };
  const onFocusIn = (e: FocusEvent): void => {
    const i = items().indexOf(e.target as HTMLElement);
    if (i >= 0 && i !== active) {
      active = i;
      sync();
    }
  };
  const mo = new MutationObserver(sync);
  mo.observe(node, { childList: true, subtree: true });
  node.addEventListener('keydown', onKey);
  node.addEventListener('focusin', onFocusIn);
  sync();
  return {
    destroy() {
      mo.disconnect();
      node.removeEventListener('keydown', onKey);
      node.removeEventListener('focusin', onFocusIn);
    },
  };
}
