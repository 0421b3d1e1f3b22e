// The simulated drachtio-server's SIP core: what arrives on its SIP port
// and what its apps ask for on the admin wire, dispatched to the modules
// that model each part (uas.ts, uac.ts, proxy.ts).
import { CoreContext, topBranch } from './core-context.ts';
import type { Network, SipPeer } from './network.ts';
import { cseqOf, isRequest, parseSipLoose, type SipMessage } from './sip-message.ts';
import type { AppLink, SipIdentity } from './state.ts';
import { onAppResponse, onNetworkRequest } from './uas.ts';
import { onAppDialogRequest, onAppNewRequest } from './uac.ts';
import { onAppProxy } from './proxy.ts';

export class SipCore {
  readonly ctx: CoreContext;

  constructor(network: Network, self: SipIdentity, apps: () => readonly AppLink[]) {
    this.ctx = new CoreContext(network, self, apps);
    network.onReceive((raw, message, from) => this.#onNetwork(raw, message, from));
  }

  #onNetwork(raw: string, message: SipMessage | undefined, from: SipPeer): void {
    if (message === undefined) return; // sofia drops what it cannot parse
    if (isRequest(message)) {
      onNetworkRequest(this.ctx, raw, message, from);
      return;
    }
    const txn = this.ctx.clientTxns.get(`${topBranch(message)}|${cseqOf(message)?.method ?? ''}`);
    txn?.onResponse(message, raw, from);
  }

  /** `sip|<txnId>|<dialogId>` + SIP from an app. Returns false when the message is unusable. */
  onAppSip(app: AppLink, msgId: string, txnId: string, dialogId: string, sip: string): boolean {
    const m = parseSipLoose(sip);
    if (m === undefined) {
      this.ctx.reply(app, msgId, ['NOK', 'invalid SIP message']);
      return true;
    }
    if (!isRequest(m)) {
      onAppResponse(this.ctx, app, msgId, txnId, m);
      return true;
    }
    if (dialogId !== '') {
      onAppDialogRequest(this.ctx, app, msgId, dialogId, m);
      return true;
    }
    if (txnId !== '') {
      this.ctx.reply(app, msgId, ['NOK', 'requests within a transaction are not modelled (only CANCEL by drachtio-srf)']);
      return true;
    }
    onAppNewRequest(this.ctx, app, msgId, m);
    return true;
  }

  onAppProxy(app: AppLink, msgId: string, tokens: readonly string[], sip: string): void {
    onAppProxy(this.ctx, app, msgId, tokens, sip === '' ? undefined : parseSipLoose(sip));
  }
}
