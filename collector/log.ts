/**
 * Logs: pino, JSON lines on stderr (stdout carries the trace printer);
 * pretty-printed when stderr is a terminal.
 */
import { pino, type Logger } from 'pino';
import pretty from 'pino-pretty';

export type { Logger };

export function createLogger(level: string): Logger {
  const base = { level, base: { name: 'sonde' } };
  if (process.stderr.isTTY) {
    return pino(base, pretty({ destination: 2, colorize: true, sync: true, ignore: 'pid,hostname,name' }));
  }
  return pino(base, pino.destination({ fd: 2, sync: true }));
}
