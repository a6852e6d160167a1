// Go time.Duration text, as used by metav1.Duration fields (BGPPeer holdTime, keepaliveTime,
// connectTime) and the legacy ConfigMap's hold-time / keepalive-time.

const UNIT_SECONDS: Readonly<Record<string, number>> = {
  ns: 1e-9,
  us: 1e-6,
  'µs': 1e-6, // U+00B5 micro sign
  'μs': 1e-6, // U+03BC Greek mu
  ms: 1e-3,
  s: 1,
  m: 60,
  h: 3600,
};

const TERM = /^(\d*)(?:\.(\d*))?([a-zµμ]+)/;

/**
 * Parses Go duration syntax ("90s", "1m30s", "1.5h", "300ms", "-2s", "0") into seconds.
 * Returns undefined for anything Go's time.ParseDuration would reject (e.g. "90": units are
 * mandatory except for a bare "0").
 */
export function parseGoDuration(text: string): number | undefined {
  let s = text;
  let sign = 1;
  if (s.startsWith('-') || s.startsWith('+')) {
    if (s.startsWith('-')) sign = -1;
    s = s.slice(1);
  }
  if (s === '0') return 0;
  if (s === '') return undefined;
  let total = 0;
  while (s !== '') {
    const m = TERM.exec(s);
    if (!m) return undefined;
    const [whole, intPart = '', fracPart, unit = ''] = m;
    if (intPart === '' && (fracPart === undefined || fracPart === '')) return undefined;
    const factor = UNIT_SECONDS[unit];
    if (factor === undefined) return undefined;
    total += Number(`${intPart || '0'}.${fracPart || '0'}`) * factor;
    s = s.slice(whole.length);
  }
  return sign * total;
}

/**
 * Formats seconds the way Go's Duration.String does ("1m30s", "2m0s", "1h0m0s", "500ms"),
 * which is how kubectl shows metav1.Duration. Precision: milliseconds.
 */
export function formatGoDuration(seconds: number): string {
  const totalMs = Math.round(seconds * 1000);
  if (totalMs === 0) return '0s';
  const sign = totalMs < 0 ? '-' : '';
  const ms = Math.abs(totalMs);
  if (ms < 1000) return `${sign}${ms}ms`;
  const hours = Math.floor(ms / 3_600_000);
  const minutes = Math.floor((ms % 3_600_000) / 60_000);
  const secMs = ms % 60_000;
  const secText = secMs % 1000 === 0 ? String(secMs / 1000) : (secMs / 1000).toFixed(3).replace(/0+$/, '');
  if (hours > 0) return `${sign}${hours}h${minutes}m${secText}s`;
  if (minutes > 0) return `${sign}${minutes}m${secText}s`;
  return `${sign}${secText}s`;
}
