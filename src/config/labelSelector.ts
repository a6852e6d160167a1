// The one function that decides whether labels satisfy a Kubernetes LabelSelector.
import type { LabelSelector } from './model.js';

export const EMPTY_SELECTOR: LabelSelector = Object.freeze({ matchLabels: {}, matchExpressions: [] });

export function selectorMatches(selector: LabelSelector, labels: Readonly<Record<string, string>>): boolean {
  for (const [k, v] of Object.entries(selector.matchLabels)) {
    if (labels[k] !== v) return false;
  }
  for (const req of selector.matchExpressions) {
    const has = Object.prototype.hasOwnProperty.call(labels, req.key);
    const value = labels[req.key];
    switch (req.operator) {
      case 'In':
        if (!has || !req.values.includes(value as string)) return false;
        break;
      case 'NotIn':
        if (has && req.values.includes(value as string)) return false;
        break;
      case 'Exists':
        if (!has) return false;
        break;
      case 'DoesNotExist':
        if (has) return false;
        break;
    }
  }
  return true;
}

/** OR over a list of selectors; an empty list matches everything (MetalLB's nodeSelectors etc.). */
export function anySelectorMatches(selectors: readonly LabelSelector[], labels: Readonly<Record<string, string>>): boolean {
  return selectors.length === 0 || selectors.some((s) => selectorMatches(s, labels));
}

/** Canonical text of a selector, used to detect duplicates ("duplicate definition of ..."). */
export function selectorKey(selector: LabelSelector): string {
  const labels = Object.entries(selector.matchLabels).sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));
  const exprs = selector.matchExpressions
    .map((e) => `${e.key} ${e.operator} (${[...e.values].sort().join(',')})`)
    .sort();
  return JSON.stringify([labels, exprs]);
}
