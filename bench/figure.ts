// The record every figure is reported as: one JSON object per line on
// stdout, and an element of bench/results/latest.json.
import type { MachineContext } from './machine.js';
import { spread, type Spread } from './stats.js';

export interface Figure extends Spread, MachineContext {
  figure: string;
  unit: string;
  mode: 'full' | 'quick';
  [context: string]: unknown;
}

/** A figure group that could not be measured (e.g. the server did not start). */
export interface FigureError extends MachineContext {
  figure: string;
  error: string;
  mode: 'full' | 'quick';
}

export interface BenchContext {
  quick: boolean;
  runs: number;
  machine: MachineContext;
  /** Progress for humans (stderr). */
  log(message: string): void;
  /** Reports a finished figure (stdout + results). */
  emit(figure: Figure): void;
}

export function makeFigure(
  ctx: BenchContext,
  name: string,
  unit: string,
  values: readonly number[],
  context: Record<string, unknown> = {},
): Figure {
  return { figure: name, unit, ...spread(values), ...context, mode: ctx.quick ? 'quick' : 'full', ...ctx.machine };
}

export function isFigureError(r: Figure | FigureError): r is FigureError {
  return typeof (r as FigureError).error === 'string' && (r as Figure).median === undefined;
}
