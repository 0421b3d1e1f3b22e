import { z } from 'zod';

/** One row of `show channels as json` (only the columns the edge reads). */
export interface ChannelRow {
  readonly uuid: string;
  readonly name: string;
  readonly direction: string;
  readonly callstate: string;
}

const rowSchema = z.looseObject({
  uuid: z.string(),
  name: z.string(),
  direction: z.string().default(''),
  callstate: z.string().default(''),
});

const tableSchema = z.looseObject({
  row_count: z.number().int().min(0),
  rows: z.array(z.unknown()).optional(),
});

/**
 * Parse `show channels as json`. FreeSWITCH answers `{"row_count": 0}`
 * without `rows` when there is none (esl.md §5); rows that do not parse
 * are skipped, a body that does not parse is an error.
 */
export function parseChannels(body: string): ChannelRow[] {
  let json: unknown;
  try {
    json = JSON.parse(body);
  } catch {
    throw new Error(`show channels: not JSON: ${body.slice(0, 80)}`);
  }
  const table = tableSchema.safeParse(json);
  if (!table.success) throw new Error('show channels: no row_count');
  const rows: ChannelRow[] = [];
  for (const raw of table.data.rows ?? []) {
    const r = rowSchema.safeParse(raw);
    if (r.success) rows.push({ uuid: r.data.uuid, name: r.data.name, direction: r.data.direction, callstate: r.data.callstate });
  }
  return rows;
}

/** `uuid_getvar` answers `_undef_` for an unset variable, `-ERR ...` for a missing channel. */
export function parseGetvar(body: string): string | undefined {
  const v = body.replace(/\n$/, '');
  return v === '_undef_' || v === '' || v.startsWith('-ERR') ? undefined : v;
}
