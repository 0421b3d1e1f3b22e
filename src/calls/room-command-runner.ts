import type { Logger } from '../log/logger.ts';
import type { MatrixLink, RoomMessage } from '../matrix/link.ts';
import { checkCaller, checkDestination } from '../routing/policy.ts';
import { parseDestination } from '../routing/numbers.ts';
import type { CompiledRules } from './refusals.ts';
import { COMMAND_HELP, parseRoomCommand } from './room-commands.ts';
import { InboundCall } from './inbound-call.ts';
import { OutboundCall } from './outbound-call.ts';

/** What a room command may read and change: the Matrix side, the rules, the rooms' !dial numbers, the live calls. */
export interface RoomCommandContext {
  readonly matrix: Pick<MatrixLink, 'sendNotice' | 'roomFacts'>;
  readonly rules: CompiledRules;
  /** Numbers set with !dial, per room (room configuration, not call state). */
  readonly dialled: Map<string, string>;
  readonly calls: () => Iterable<OutboundCall | InboundCall>;
  readonly log: Logger;
}

/** Runs a room message that is a command (!dial, !dtmf, !hangup, !help) and replies in the room; other messages are ignored. */
export async function runRoomCommand(message: RoomMessage, ctx: RoomCommandContext): Promise<void> {
  const parsed = parseRoomCommand(message.body);
  if (parsed === undefined) return;
  const facts = await ctx.matrix.roomFacts(message.roomId, message.sender);
  const reply = (text: string) =>
    ctx.matrix.sendNotice(message.roomId, text, facts.noticeFrom).catch((err: Error) => ctx.log.warn({ err: err.message }, 'could not reply'));
  if (!parsed.ok) {
    await reply(parsed.reply);
    return;
  }
  const command = parsed.command;
  const allowed = checkCaller(ctx.rules.policy, message.sender, facts.powerLevel);
  if (allowed && command.kind !== 'help' && command.kind !== 'hangup') {
    await reply(allowed.message);
    return;
  }
  const mine = (c: OutboundCall | InboundCall) => c.roomId === message.roomId && (c instanceof OutboundCall ? c.userId === message.sender : c.answeredBy === message.sender);
  const found = [...ctx.calls()].find(mine);
  const call = found instanceof OutboundCall ? found : undefined;
  switch (command.kind) {
    case 'help':
      await reply(COMMAND_HELP);
      return;
    case 'dial': {
      const parsed = parseDestination(command.number, ctx.rules.numbers);
      // A refused number also clears the previous one: the next call must not go somewhere the user did not mean.
      if (!parsed.ok) {
        ctx.dialled.delete(message.roomId);
        await reply(`Cannot call: ${parsed.reason}.`);
        return;
      }
      const denied = checkDestination(ctx.rules.policy, parsed.destination);
      if (denied) {
        ctx.dialled.delete(message.roomId);
        await reply(denied.message);
        return;
      }
      ctx.dialled.set(message.roomId, parsed.destination.number);
      await reply(`Calls you place in this room now go to ${parsed.destination.number}. Start a voice call to dial.`);
      return;
    }
    case 'dtmf':
      if (found instanceof InboundCall) {
        await reply('Touch tones toward the caller are not supported on incoming calls yet.');
        return;
      }
      if (call === undefined) {
        await reply('There is no call of yours in this room to send tones to.');
        return;
      }
      try {
        await reply(await call.sendDtmf(command.digits, command.durationMs));
      } catch (err) {
        call.log.warn({ err: (err as Error).message }, 'DTMF failed');
        await reply('The tones could not be sent.');
      }
      return;
    case 'hangup':
      if (found === undefined) {
        await reply('There is no call of yours in this room.');
        return;
      }
      if (found instanceof InboundCall) await found.hangup('NORMAL_CLEARING');
      else await found.hangup('NORMAL_CLEARING', { cause: 'NORMAL_CLEARING', sipStatus: undefined, reason: 'user_hangup', notice: undefined });
      return;
  }
}
