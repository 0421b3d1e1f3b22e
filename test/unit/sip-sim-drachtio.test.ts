// The drachtio-server simulator's admin wire beyond the captures: frames
// split anywhere and several per read, the 5-digit length limit, failures
// of SIP operations as NOK.
import { once } from 'node:events';
import { connect, type Socket } from 'node:net';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { encodeFrame, FrameDecoder, FramingError } from '../support/drachtio/framing.ts';
import { DrachtioSimulator } from '../support/drachtio/server.ts';
import { waitUntil } from '../support/wait.ts';

describe('framing', () => {
  it('cuts by byte length, across reads and several per read (UTF-8 counted in bytes)', () => {
    const d = new FrameDecoder();
    const bytes = Buffer.concat([encodeFrame('a|ping'), encodeFrame('b|sip|é\r\nx'), encodeFrame('c|route|invite')]);
    const out: string[] = [];
    for (let i = 0; i < bytes.length; i += 3) out.push(...d.push(bytes.subarray(i, i + 3)));
    expect(out).toEqual(['a|ping', 'b|sip|é\r\nx', 'c|route|invite']);
    expect(new FrameDecoder().push(bytes)).toHaveLength(3);
    expect(d.pending).toBe(0);
  });

  it.each(['123456#x', 'ab#x', '#x', '0#'])('refuses %j', (text) => {
    expect(() => new FrameDecoder().push(Buffer.from(text))).toThrow(FramingError);
  });
});

describe('simulator admin port', () => {
  let sim: DrachtioSimulator;
  let socket: Socket;
  const frames: string[] = [];
  let ended = false;

  beforeEach(async () => {
    frames.length = 0;
    ended = false;
    sim = new DrachtioSimulator({ secret: 'sekrit' });
    await sim.listen();
    socket = connect(sim.port, '127.0.0.1');
    const d = new FrameDecoder();
    socket.on('data', (b: Buffer) => {
      frames.push(...d.push(b));
      sim.emit('change');
    });
    socket.on('end', () => {
      ended = true;
      sim.emit('change');
    });
    await once(socket, 'connect');
  });

  afterEach(async () => {
    socket.destroy();
    await sim.close();
  });

  it('answers a frame split byte by byte', async () => {
    for (const b of encodeFrame('id1|ping')) socket.write(Buffer.from([b]));
    await waitUntil(sim, () => frames.length === 1, 'pong');
    expect(frames[0]).toMatch(/^[0-9a-f-]{36}\|response\|id1\|OK\|pong$/);
  });

  it('answers NOK to a response for an unknown transaction and to a proxy of one', async () => {
    socket.write(encodeFrame('id2|sip|nope|\r\nSIP/2.0 200 OK\r\nContent-Length: 0\r\n\r\n'));
    socket.write(encodeFrame('id3|proxy|nope|remainInDialog|fullResponse||serial|||sip:1@127.0.0.1\r\nINVITE sip:1@127.0.0.1 SIP/2.0\r\nContent-Length: 0\r\n\r\n'));
    socket.write(encodeFrame('id4|sip||no-such-dialog\r\nBYE sip:placeholder SIP/2.0\r\nContent-Length: 0\r\n\r\n'));
    await waitUntil(sim, () => frames.length === 3, 'three answers');
    expect(frames.map((f) => f.split('|').slice(2, 4).join('|'))).toEqual(['id2|NOK', 'id3|NOK', 'id4|NOK']);
    expect(frames[2]).toMatch(/unable to find dialog/);
    expect(ended).toBe(false);
  });

  it('drops the connection on a length specifier of six digits', async () => {
    socket.write('100000#');
    await waitUntil(sim, () => ended || socket.destroyed || sim.open === 0, 'connection dropped');
    expect(sim.open).toBe(0);
  });
});
