import type { Logger } from '../log/logger.ts';
import type { ApiCommand } from '../esl/commands.ts';
import { showChannelsJson, uuidExists, uuidGetvar, uuidKill } from '../esl/commands.ts';
import { parseChannels, parseGetvar, type ChannelRow } from '../esl/channels.ts';
import { INBOUND_CHANNEL_VARS } from './inbound-call.ts';

/** What a leftover FreeSWITCH channel of the edge tells about its Matrix call. */
export interface Orphan {
  readonly uuid: string;
  readonly version: string | undefined;
  readonly roomId: string | undefined;
  readonly matrixCallId: string | undefined;
  readonly partyId: string | undefined;
}

/** A call the edge holds, as reconciliation sees it. */
export interface KnownCall {
  /** Its Verto leg. */
  readonly uuid: string;
  /** True while the edge still holds this call and it is answered (asked again right before it is ended). */
  answered(): boolean;
  /** Its channel is gone: end the call in Matrix. */
  vanished(): void;
}

const UUID = /^[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}$/;

/** `callstate` of a channel nobody answered yet (show channels). */
const UNANSWERED = new Set(['DOWN', 'DIALING', 'RINGING', 'EARLY', 'RING_WAIT']);

export interface ReconcilePorts {
  esl(command: ApiCommand): Promise<string>;
  /**
   * True when the edge holds a call for this Verto leg, is setting one up,
   * or ended one for it during this reconciliation: not an orphan. Asked
   * again after the leg's variables were read, right before it is killed.
   */
  knows(uuid: string): boolean;
  /** The calls the edge holds now (taken before the channel list: a call set up later is never judged against it). */
  calls(): readonly KnownCall[];
  /** An orphan was hung up: tell its room. Called at once, per leg; must not block the walk. */
  orphaned(orphan: Orphan): void;
}

export interface ReconcileResult {
  readonly orphans: readonly Orphan[];
  /** Verto legs of held calls found gone (their calls were ended). */
  readonly vanished: readonly string[];
}

/**
 * After (re)connecting to ESL, two judgements against one `show channels`
 * list, each made per channel right after its facts are read, since the
 * calls go on while the walk waits on ESL:
 *
 * - Legs of the edge that no call object holds (the edge restarted, or
 *   their events were lost) are hung up, so no channel is left orphaned.
 *   A leg is the edge's when it carries the variables the edge sets
 *   (outbound: verto_dvar_mse_* on the Verto leg, mse_leg=trunk on the
 *   trunk leg it originates) or the shipped inbound template sets
 *   (verto_h_mse_did). A room is told once per call, whatever number of
 *   its legs were left. An unanswered inbound leg that never rang in Matrix
 *   is left alone: FreeSWITCH may be offering it to the edge right now,
 *   and it ends it itself when the session it was offered to is gone.
 * - Answered calls the edge held before the list was taken whose leg is
 *   not in it are ended, once `uuid_exists` confirms the leg is gone (the
 *   list may have been taken before FreeSWITCH created it).
 */
export async function reconcile(ports: ReconcilePorts, log: Logger): Promise<ReconcileResult> {
  const held = ports.calls();
  const rows = parseChannels(await ports.esl(showChannelsJson()));
  const present = new Set(rows.map((r) => r.uuid));
  const orphans: Orphan[] = [];
  const told = new Set<string>();
  for (const row of rows) {
    const edgeLeg = row.name.startsWith('verto.rtc/') || row.name.startsWith('sofia/');
    if (!edgeLeg || ports.knows(row.uuid)) continue;
    if (!UUID.test(row.uuid)) {
      log.warn({ uuid: row.uuid.slice(0, 60) }, 'skipped a channel row without a valid UUID');
      continue;
    }
    const orphan = await orphanFacts(row, ports);
    if (orphan === undefined) continue;
    // The edge may have taken the leg up while its variables were read (an inbound call's verto.invite arrived).
    if (ports.knows(row.uuid)) {
      log.info({ uuid: row.uuid }, 'a listed channel was taken up by a call during reconciliation; left alone');
      continue;
    }
    const reply = await ports.esl(uuidKill(row.uuid, 'NORMAL_TEMPORARY_FAILURE'));
    log.warn({ uuid: row.uuid, call: orphan.matrixCallId, room: orphan.roomId, reply: reply.trim().slice(0, 80) }, 'hung up a FreeSWITCH channel no call held');
    orphans.push(orphan);
    // Both legs of one outbound call may be left: its room is told once.
    if (orphan.matrixCallId !== undefined && told.has(orphan.matrixCallId)) continue;
    if (orphan.matrixCallId !== undefined) told.add(orphan.matrixCallId);
    ports.orphaned(orphan);
  }
  const vanished: string[] = [];
  for (const call of held) {
    if (present.has(call.uuid) || !call.answered()) continue;
    const exists = (await ports.esl(uuidExists(call.uuid))).trim();
    if (exists !== 'false') continue;
    if (!call.answered()) continue;
    log.warn({ uuid: call.uuid }, 'the FreeSWITCH channel of a call is gone (events lost while ESL was away)');
    vanished.push(call.uuid);
    call.vanished();
  }
  return { orphans, vanished };
}

/** The Matrix facts of a listed Verto leg of the edge; undefined when it is not the edge's, or may be on its way to it. */
async function orphanFacts(row: ChannelRow, ports: ReconcilePorts): Promise<Orphan | undefined> {
  const get = async (name: string) => parseGetvar(await ports.esl(uuidGetvar(row.uuid, name)));
  if (row.name.startsWith('sofia/')) {
    // A trunk leg the edge originated (outbound-call.ts names it mse_leg=trunk); any other SIP leg is not the edge's to judge.
    if ((await get('mse_leg')) !== 'trunk') return undefined;
    return { uuid: row.uuid, roomId: await get('mse_room_id'), matrixCallId: await get('mse_matrix_call_id'), partyId: await get('mse_party_id'), version: await get('mse_version') };
  }
  const callId = await get('verto_dvar_mse_matrix_call_id');
  if (callId !== undefined) {
    return {
      uuid: row.uuid,
      roomId: await get('verto_dvar_mse_room_id'),
      matrixCallId: callId,
      partyId: await get('verto_dvar_mse_party_id'),
      version: await get('verto_dvar_mse_version'),
    };
  }
  if ((await get('verto_h_mse_did')) === undefined) return undefined;
  // An inbound leg: what InboundCall wrote on it once the room rang (nothing when it never rang).
  const matrixCallId = await get(INBOUND_CHANNEL_VARS.callId);
  if (matrixCallId === undefined) return UNANSWERED.has(row.callstate) ? undefined : { uuid: row.uuid, matrixCallId, roomId: undefined, partyId: undefined, version: undefined };
  const room = await get(INBOUND_CHANNEL_VARS.room);
  const partyId = await get(INBOUND_CHANNEL_VARS.partyId);
  return { uuid: row.uuid, matrixCallId, roomId: room === undefined ? undefined : `!${room}`, partyId, version: '1' };
}
