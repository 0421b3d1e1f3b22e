import type { Logger } from '../log/logger.ts';
import type { ApiCommand } from '../esl/commands.ts';
import { showChannelsJson, uuidGetvar, uuidKill } from '../esl/commands.ts';
import { parseChannels, parseGetvar } from '../esl/channels.ts';
import { INBOUND_CHANNEL_VARS } from './inbound-call.ts';

/** What a leftover FreeSWITCH channel of the edge tells about its Matrix call. */
export interface Orphan {
  readonly uuid: string;
  readonly version: string | undefined;
  readonly roomId: string | undefined;
  readonly matrixCallId: string | undefined;
  readonly partyId: string | undefined;
}

const UUID = /^[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}$/;

export interface ReconcilePorts {
  esl(command: ApiCommand): Promise<string>;
  /** True when the edge holds a call for this Verto leg. */
  knows(uuid: string): boolean;
}

/**
 * After (re)connecting to ESL: find Verto legs of the edge that no call
 * object holds (the edge restarted, or their events were lost) and hang
 * them up, so no channel is left orphaned. A leg is the edge's when it
 * carries the variables the edge sets (outbound: verto_dvar_mse_*) or the
 * shipped inbound template sets (verto_h_mse_did).
 */
export async function reconcile(ports: ReconcilePorts, log: Logger): Promise<{ orphans: Orphan[]; present: ReadonlySet<string> }> {
  const rows = parseChannels(await ports.esl(showChannelsJson()));
  const present = new Set(rows.map((r) => r.uuid));
  const orphans: Orphan[] = [];
  for (const row of rows) {
    if (!row.name.startsWith('verto.rtc/') || ports.knows(row.uuid)) continue;
    if (!UUID.test(row.uuid)) {
      log.warn({ uuid: row.uuid.slice(0, 60) }, 'skipped a channel row without a valid UUID');
      continue;
    }
    const get = async (name: string) => parseGetvar(await ports.esl(uuidGetvar(row.uuid, name)));
    const callId = await get('verto_dvar_mse_matrix_call_id');
    const did = callId === undefined ? await get('verto_h_mse_did') : undefined;
    if (callId === undefined && did === undefined) continue;
    const orphan: Orphan = callId !== undefined ? {
      uuid: row.uuid,
      roomId: await get('verto_dvar_mse_room_id'),
      matrixCallId: callId,
      partyId: await get('verto_dvar_mse_party_id'),
      version: await get('verto_dvar_mse_version'),
    } : await inboundOrphan(row.uuid, get);
    const reply = await ports.esl(uuidKill(row.uuid, 'NORMAL_TEMPORARY_FAILURE'));
    log.warn({ uuid: row.uuid, call: orphan.matrixCallId, room: orphan.roomId, reply: reply.trim().slice(0, 80) }, 'hung up a FreeSWITCH channel no call held');
    orphans.push(orphan);
  }
  return { orphans, present };
}

/** An inbound leg: what InboundCall wrote on it once the room rang (nothing when it never rang). */
async function inboundOrphan(uuid: string, get: (name: string) => Promise<string | undefined>): Promise<Orphan> {
  const matrixCallId = await get(INBOUND_CHANNEL_VARS.callId);
  const room = matrixCallId === undefined ? undefined : await get(INBOUND_CHANNEL_VARS.room);
  const partyId = matrixCallId === undefined ? undefined : await get(INBOUND_CHANNEL_VARS.partyId);
  return { uuid, matrixCallId, roomId: room === undefined ? undefined : `!${room}`, partyId, version: matrixCallId === undefined ? undefined : '1' };
}
