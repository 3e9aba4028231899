import { useEffect, useState } from 'react';
import { api } from './client.ts';
import type { KnownSpecies } from './types.ts';
import { labelText } from '../format.ts';

let cached: Promise<KnownSpecies[]> | null = null;

/** The serving classifier's labels with their names, fetched once per page load. */
export function useSpecies(): KnownSpecies[] {
  const [items, setItems] = useState<KnownSpecies[]>([]);
  useEffect(() => {
    cached ??= api<{ items: KnownSpecies[] }>('/api/v1/predictions/species?limit=500')
      .then((r) => r.items)
      .catch(() => {
        cached = null;
        return [];
      });
    let live = true;
    void cached.then((v) => live && setItems(v));
    return () => {
      live = false;
    };
  }, []);
  return items;
}

export function displayName(species: KnownSpecies[], label: string | null): string {
  if (!label) return 'Unknown';
  const found = species.find((s) => s.label === label);
  return found?.common_name ?? labelText(label);
}
