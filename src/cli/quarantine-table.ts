// Renders /api/skein/quarantine as a table for the terminal (`skein quarantine list`).
import { formatTable } from './table.js';

export interface QuarantineAnswerJson {
  tenant: string;
  total: number;
  objects: Array<{ id: string; time: string; spans: number; error: string; file: string }>;
}

export function renderQuarantineTable(answer: QuarantineAnswerJson): string {
  if (answer.objects.length === 0) return `nothing quarantined for tenant ${answer.tenant}`;
  const rows = answer.objects.map((o) => [o.id, o.time, String(o.spans), o.error]);
  const shown = answer.objects.length < answer.total ? `${answer.objects.length} newest of ${answer.total}` : String(answer.total);
  return [
    formatTable(['ID', 'TIME', 'SPANS', 'ERROR'], rows, [2]),
    '',
    `${shown} quarantine object${answer.total === 1 ? '' : 's'} of tenant ${answer.tenant}, in <storage.path>/quarantine/${answer.tenant}/ (see docs/block-format.md)`,
  ].join('\n');
}
