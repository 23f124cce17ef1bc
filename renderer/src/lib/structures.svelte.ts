/**
 * One colour and one display name per structure, everywhere: the slice and 3D views, the charts,
 * the tables and the reports ask here. The label schema (osteon-labels/1: `name`, `colour`) is the
 * source; a case's schema, a run's config (its layout keeps the schema's names and colours) and
 * an evaluation's names register what they know. A structure nothing has described yet gets the
 * fallback palette by its index (the viewer's own fallback, lib/slices.ts) and its id as name.
 */
import { SvelteMap } from 'svelte/reactivity';
import { paletteColour } from './slices.ts';

export interface StructureLook {
  name: string;
  /** "#rrggbb". */
  colour: string;
}

const hex = (rgb: readonly number[]) => `#${rgb.map((c) => c.toString(16).padStart(2, '0')).join('')}`;

/** The fallback colour of the k-th structure (as hex). */
export function fallbackColour(k: number): string {
  return hex(paletteColour(k));
}

export class StructureLooks {
  #looks = new SvelteMap<string, StructureLook>();

  /** Records names and colours (a schema's structures, a run layout). Later sources win. */
  register(list: Iterable<{ id: string; name?: string; colour?: string }>): void {
    for (const s of list) {
      const old = this.#looks.get(s.id);
      const name = s.name ?? old?.name ?? s.id;
      const colour = (s.colour ?? old?.colour ?? '').toLowerCase();
      if (old && old.name === name && old.colour === colour) continue;
      this.#looks.set(s.id, { name, colour });
    }
  }

  /** A run's layout: ids, names and colours in channel order. */
  registerLayout(layout: { ids: readonly string[]; names: readonly string[]; colours: readonly string[] }): void {
    this.register(layout.ids.map((id, k) => ({ id, name: layout.names[k], colour: layout.colours[k] })));
  }

  name(id: string): string {
    return this.#looks.get(id)?.name ?? id;
  }

  /** The structure's colour; `k` (its index in the list shown) picks the fallback. */
  colour(id: string, k: number): string {
    return this.#looks.get(id)?.colour || fallbackColour(k);
  }

  look(id: string, k: number): StructureLook {
    return { name: this.name(id), colour: this.colour(id, k) };
  }
}

/** The renderer's one registry. */
export const structureLooks = new StructureLooks();
