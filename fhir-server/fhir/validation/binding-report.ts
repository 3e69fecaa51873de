/** Which required bindings of R4 are checked, and why the others cannot be: the list docs/validation.md carries. */
import { r4ResourceTypes } from '../resource-types.ts';
import { allElementTables } from './element-table.ts';
import { requiredBinding } from './value-sets.ts';

/** One value set bound with strength `required`. */
export interface RequiredBindingRow {
  /** ValueSet URL (no version). */
  valueSet: string;
  /** The elements bound to it (definition paths, sorted). */
  elements: string[];
  /** Codes in its expansion (checked ones). */
  codes?: number;
  /** Why it is not checked (unchecked ones). */
  reason?: string;
}

/** Every value set an element reachable from an R4 resource type binds with strength `required`, sorted by URL. */
export function requiredBindingRows(): RequiredBindingRow[] {
  const elements = new Map<string, Set<string>>();
  for (const table of allElementTables(r4ResourceTypes())) {
    for (const slot of table.slots.values()) {
      if (!slot.requiredValueSet) continue;
      const set = elements.get(slot.requiredValueSet) ?? new Set<string>();
      set.add(slot.definition);
      elements.set(slot.requiredValueSet, set);
    }
  }
  return [...elements.keys()].sort().map((valueSet) => {
    const binding = requiredBinding(valueSet);
    const row: RequiredBindingRow = { valueSet, elements: [...elements.get(valueSet)!].sort() };
    if (binding.checked) row.codes = binding.codes.size;
    else row.reason = binding.reason;
    return row;
  });
}

/** The markdown of the list: unchecked value sets with the reason, then the checked ones. */
export function requiredBindingMarkdown(): string {
  const rows = requiredBindingRows();
  const unchecked = rows.filter((r) => r.reason);
  const checked = rows.filter((r) => !r.reason);
  const elementCount = (list: RequiredBindingRow[]) => list.reduce((n, r) => n + r.elements.length, 0);
  return [
    `${checked.length} of ${rows.length} value sets (${elementCount(checked)} of ${elementCount(rows)} elements) are checked.`,
    '',
    '**Not checked** (the definitions cannot expand them):',
    '',
    '| Value set | Elements | Why not |',
    '|---|---|---|',
    ...unchecked.map((r) => `| ${r.valueSet} | ${r.elements.join(', ')} | ${r.reason} |`),
    '',
    '**Checked**:',
    '',
    '| Value set | Codes | Elements |',
    '|---|---|---|',
    ...checked.map((r) => `| ${r.valueSet} | ${r.codes} | ${r.elements.join(', ')} |`),
  ].join('\n');
}
