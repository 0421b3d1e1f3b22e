// The replay comparison can fail: the same real capture replayed through a
// proxy that withholds one of the simulator's replies (the first
// api/response) must report a difference, while the untouched proxy
// reports none. The capture itself is read as it is.
import { afterEach, describe, expect, it } from 'vitest';
import { createServer, connect, type Server, type Socket } from 'node:net';
import path from 'node:path';
import { listTraces, loadFrameCapture } from '../support/traces.ts';
import { startFreeSwitchSimulator, type FreeSwitchSimulator } from '../support/freeswitch/index.ts';
import { replay, stepsFromFrames } from '../support/freeswitch/esl-replay.ts';
import { ServerStreamParser, headerValue } from '../support/freeswitch/esl-wire.ts';

/** A TCP proxy to the simulator's ESL port that can drop the first server message of a Content-Type. */
async function replyDroppingProxy(target: number, dropContentType: string | undefined): Promise<{ port: number; dropped: () => number; close: () => Promise<void> }> {
  const sockets = new Set<Socket>();
  let dropped = 0;
  const server: Server = createServer((client) => {
    const upstream = connect(target, '127.0.0.1');
    sockets.add(client).add(upstream);
    const parser = new ServerStreamParser();
    client.on('data', (d) => upstream.write(d));
    upstream.on('data', (d) => {
      for (const m of parser.push(d)) {
        if (dropContentType !== undefined && dropped === 0 && headerValue(m.headers, 'Content-Type') === dropContentType) {
          dropped += 1;
          continue;
        }
        client.write(m.raw);
      }
    });
    const end = () => {
      client.destroy();
      upstream.destroy();
    };
    client.on('close', end).on('error', end);
    upstream.on('close', end).on('error', end);
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const address = server.address();
  return {
    port: typeof address === 'object' && address !== null ? address.port : 0,
    dropped: () => dropped,
    close: () => {
      for (const s of sockets) s.destroy();
      return new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}

let sim: FreeSwitchSimulator | undefined;
afterEach(async () => {
  await sim?.stop();
  sim = undefined;
});

describe('negative control of the ESL replay', () => {
  const capture = listTraces('real', /^esl-03-.*\.json$/)[0];
  it('finds the capture', () => expect(capture).toBeDefined());

  it.each([
    ['passes through an untouched proxy', undefined],
    ['fails when one api/response is withheld', 'api/response'],
  ] as const)('%s', async (_name, drop) => {
    sim = await startFreeSwitchSimulator({});
    const proxy = await replyDroppingProxy(sim.eslPort, drop);
    try {
      // A replay fails by reporting differences or by throwing (a body that no longer parses as the trace's does).
      const diffs = await replay({ eslPort: proxy.port }, stepsFromFrames(loadFrameCapture(capture!).frames), { deadlineMs: drop === undefined ? 1_500 : 200 }).catch((err: Error) => [`the replay threw: ${err.message}`]);
      if (drop === undefined) expect(diffs).toEqual([]);
      else {
        expect(proxy.dropped()).toBe(1);
        expect(diffs.length).toBeGreaterThan(0);
      }
    } finally {
      await proxy.close();
    }
  }, 40_000);
  it('names the capture it uses', () => expect(path.basename(capture ?? '')).toMatch(/^esl-03-/));
});
