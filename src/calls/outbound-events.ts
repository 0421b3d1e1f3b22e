// What ESL reports about an outbound call's two legs, to the call: the
// trunk leg (the edge's origination_uuid) and the media leg (the Verto
// callID). uuid_bridge fires CHANNEL_BRIDGE on one of them, naming the
// other (traces/real/ctl-05, ctl-06).
import type { EslEvent } from '../esl/events.ts';
import type { HangupFacts } from './hangup-causes.ts';
import type { OutboundCall } from './outbound-call.ts';

export function hangupFactsOf(event: EslEvent): Omit<HangupFacts, 'answered'> {
  const h = (name: string) => event.headers.get(name);
  return {
    hangupCause: h('Hangup-Cause'),
    lastBridgeHangupCause: h('variable_last_bridge_hangup_cause'),
    originateDisposition: h('variable_originate_disposition'),
    lastBridgeProtoSpecificCause: h('variable_last_bridge_proto_specific_hangup_cause'),
    sipTermStatus: h('variable_sip_term_status'),
    vertoHangupDisposition: h('variable_verto_hangup_disposition'),
  };
}

export function routeOutboundEvent(call: OutboundCall, event: EslEvent, uuid: string): void {
  const other = event.headers.get('Other-Leg-Unique-ID') ?? event.headers.get('Bridge-B-Unique-ID');
  const trunk = uuid === call.trunkUuid;
  switch (event.name) {
    case 'CHANNEL_ANSWER':
      if (trunk) call.onTrunkAnswered();
      break;
    case 'CHANNEL_BRIDGE':
      if (trunk ? other === call.uuid : other === call.trunkUuid) call.onBridged(call.trunkUuid);
      break;
    case 'CHANNEL_HOLD':
    case 'CHANNEL_UNHOLD':
      if (trunk) call.onTrunkHold(event.name === 'CHANNEL_HOLD');
      break;
    case 'CHANNEL_HANGUP_COMPLETE':
      if (trunk) call.onTrunkHangupComplete(hangupFactsOf(event));
      else call.onHangupComplete(hangupFactsOf(event));
      break;
    default:
      break;
  }
}
