// The process logger. JSON lines on stderr (pino); `--log-level` maps MetalLB's level names.
import { pino, type Logger } from 'pino';

const LEVELS: Record<string, string> = { all: 'trace', debug: 'debug', info: 'info', warn: 'warn', error: 'error', none: 'silent' };

export function makeLogger(component: string, level = 'info'): Logger {
  const mapped = LEVELS[level] ?? level;
  return pino({ name: component, level: mapped, base: { component } }, pino.destination(2));
}

export type { Logger };
