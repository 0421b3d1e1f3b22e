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
  return {
    global: {
      underride: [
        rule('.m.rule.call', [match('type', 'm.call.invite')], ['notify', { set_tweak: 'sound', value: 'ring' }, { set_tweak: 'highlight', value: false }]),
        rule('.m.rule.room_one_to_one', [{ kind: 'room_member_count', is: '2' }, match('type', 'm.room.message')], ['notify', { set_tweak: 'sound', value: 'default' }, { set_tweak: 'highlight', value: false }]),
        rule('.m.rule.encrypted_room_one_to_one', [{ kind: 'room_member_count', is: '2' }, match('type', 'm.room.encrypted')], ['notify', { set_tweak: 'sound', value: 'default' }, { set_tweak: 'highlight', value: false }]),
        rule('.m.rule.message', [match('type', 'm.room.message')], ['notify', { set_tweak: 'highlight', value: false }]),
        rule('.m.rule.encrypted', [match('type', 'm.room.encrypted')], ['notify', { set_tweak: 'highlight', value: false }]),
        rule('.im.vector.jitsi', [match('type', 'im.vector.modular.widgets'), match('content.type', 'jitsi'), match('state_key', '*')], ['notify', { set_tweak: 'highlight', value: false }]),
      ],
      sender: [],
      room: [],
      content: [],
      override: [
        { ...rule('.m.rule.master', [], ['dont_notify']), enabled: false },
        rule('.m.rule.suppress_notices', [match('content.msgtype', 'm.notice')], ['dont_notify']),
        rule('.m.rule.invite_for_me', [match('type', 'm.room.member'), match('content.membership', 'invite'), match('state_key', userId)], ['notify', { set_tweak: 'sound', value: 'default' }, { set_tweak: 'highlight', value: false }]),
        rule('.m.rule.member_event', [match('type', 'm.room.member')], ['dont_notify']),
        rule('.m.rule.contains_display_name', [{ kind: 'contains_display_name' }], ['notify', { set_tweak: 'sound', value: 'default' }, { set_tweak: 'highlight' }]),
        rule('.m.rule.roomnotif', [match('content.body', '@room'), { kind: 'sender_notification_permission', key: 'room' }], ['notify', { set_tweak: 'highlight', value: true }]),
        rule('.m.rule.tombstone', [match('type', 'm.room.tombstone'), match('state_key', '')], ['notify', { set_tweak: 'highlight', value: true }]),
        rule('.m.rule.reaction', [match('type', 'm.reaction')], ['dont_notify']),
      ],
    },
    device: {},
  };
}

/** Event types that bump unread_notifications for other members under the default rules. */
export const NOTIFYING_TYPES: ReadonlySet<string> = new Set(['m.call.invite', 'm.room.message', 'm.room.encrypted']);
