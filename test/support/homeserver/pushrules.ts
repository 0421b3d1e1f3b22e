// Synapse 1.67's default push rules, the subset js-sdk needs to start (full set is not needed:
// clients only read them). The .m.rule.call underride is what makes m.call.invite notify.
import type { JsonObject } from './types.ts';

const rule = (rule_id: string, conditions: JsonObject[], actions: (string | JsonObject)[]): JsonObject => ({
  conditions,
  actions,
  rule_id,
  default: true,
  enabled: true,
});
const match = (key: string, pattern: string): JsonObject => ({ kind: 'event_match', key, pattern });

export function defaultPushRules(userId: string): JsonObject {
  const localpart = userId.slice(1, userId.indexOf(':'));
  return {
    global: {
      underride: [
        rule('.m.rule.call', [match('type', 'm.call.invite')], ['notify', { set_tweak: 'sound', value: 'ring' }, { set_tweak: 'highlight', value: false }]),
        rule('.m.rule.room_one_to_one', [{ kind: 'room_member_count', is: '2' }, match('type', 'm.room.message')], ['notify', { set_tweak: 'sound', value: 'default' }, { set_tweak: 'highlight', value: false }]),
        rule('.m.rule.message', [match('type', 'm.room.message')], ['notify', { set_tweak: 'highlight', value: false }]),
        rule('.m.rule.encrypted', [match('type', 'm.room.encrypted')], ['notify', { set_tweak: 'highlight', value: false }]),
      ],
      sender: [],
      room: [],
      content: [
        {
          actions: ['notify', { set_tweak: 'sound', value: 'default' }, { set_tweak: 'highlight' }],
          pattern: localpart,
          rule_id: '.m.rule.contains_user_name',
          default: true,
          enabled: true,
        },
      ],
      override: [
        { ...rule('.m.rule.master', [], ['dont_notify']), enabled: false },
        rule('.m.rule.suppress_notices', [match('content.msgtype', 'm.notice')], ['dont_notify']),
        rule('.m.rule.invite_for_me', [match('type', 'm.room.member'), match('content.membership', 'invite'), match('state_key', userId)], ['notify', { set_tweak: 'sound', value: 'default' }, { set_tweak: 'highlight', value: false }]),
        rule('.m.rule.member_event', [match('type', 'm.room.member')], ['dont_notify']),
      ],
    },
    device: {},
  };
}

/** Event types that bump unread_notifications for other members under the default rules. */
export const NOTIFYING_TYPES: ReadonlySet<string> = new Set(['m.call.invite', 'm.room.message', 'm.room.encrypted']);
