// A child process that writes to a state store as fast as it can, printing
// one line per committed statement, until it is killed (kill -9 in the test).
import { SqliteStateStore } from '../../../src/store/sqlite-store.ts';

const dir = process.argv[2];
if (dir === undefined) throw new Error('usage: crash-writer.ts <dir>');
const store = SqliteStateStore.open(dir);
store.vertoSessionId();
for (let i = 0; ; i += 1) {
  const id = `call-${process.pid}-${i}`;
  store.putCall({ matrixCallId: id, direction: i % 2 === 0 ? 'outbound' : 'inbound', roomId: '!r:hs', partyId: 'p', peerPartyId: undefined, version: '1', vertoLeg: `leg-${i}`, farLeg: undefined, state: 'gathering', answered: false, createdAt: Date.now() });
  store.updateCall(id, { state: 'answered', answered: true, farLeg: `far-${i}` });
  store.enqueueSend({ txnId: `txn-${process.pid}-${i}`, key: id, roomId: '!r:hs', type: 'm.call.hangup', content: { call_id: id, n: i } });
  store.atomically(() => {
    store.deleteCall(id);
    store.deleteSend(`txn-${process.pid}-${i}`);
  });
  if (i % 50 === 0) process.stdout.write(`${i}\n`);
}
