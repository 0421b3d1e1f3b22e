// EslClient.bgapi against the FreeSWITCH simulator, through a wire tap that
// records every byte the client writes. Wire facts: shared/protocols/esl.md
// §3.2 and the real capture esl-03 (reply `+OK Job-UUID: <id>` plus a
// `Job-UUID` header; the client's Job-UUID header is honoured; the result
// comes as a BACKGROUND_JOB event whose body is the API output).
import { EventEmitter } from 'node:events';
import { createServer, type Socket } from 'node:net';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { Secret } from '../../src/config/secret.ts';
import { EslClient, EslError } from '../../src/esl/client.ts';
import { status, uuidKill, type ApiCommand } from '../../src/esl/commands.ts';
import { SUBSCRIBED_EVENTS, type EslEvent } from '../../src/esl/events.ts';
import { EslArgumentError } from '../../src/esl/grammar.ts';
import { createLogger } from '../../src/log/logger.ts';
import { TimeoutError } from '../../src/net/deadline.ts';
import { startFreeSwitchSimulator, type FreeSwitchSimulator } from '../support/freeswitch/index.ts';
import { WireTap } from '../support/wire-tap.ts';
import { waitUntil } from '../support/wait.ts';

/** Live Node timers (a job's deadline is one while it waits). */
const liveTimers = (): number => process.getActiveResourcesInfo().filter((r) => r === 'Timeout').length;

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/;

/** A job that does not finish within any deadline here: originate toward a trunk that rings and never answers. */
const NEVER_ANSWERED: ApiCommand = { command: 'originate', args: 'sofia/gateway/gw1/15551234567 &park()' };

let sim: FreeSwitchSimulator;
let tap: WireTap;
let client: EslClient;
const changes = new EventEmitter();
let events: EslEvent[];

async function connected(c: EslClient): Promise<void> {
  await waitUntil(changes, () => c.state === 'connected', 'ESL connected');
}

function newClient(port: number): EslClient {
  const c = new EslClient({
    host: '127.0.0.1',
    port,
    password: new Secret('ClueCon'),
    requestTimeoutMs: 2_000,
    connectTimeoutMs: 2_000,
    reconnect: false,
    logger: createLogger('silent'),
  });
  c.onState(() => changes.emit('change'));
  c.onEvent((e) => {
    events.push(e);
    changes.emit('change');
  });
  return c;
}

/**
 * An event socket that authenticates and subscribes like FreeSWITCH, then
 * answers each bgapi packet with `onBgapi` (nothing, an error, ...).
 */
async function withScriptedSocket(onBgapi: (socket: Socket, packet: string) => void, body: (c: EslClient) => Promise<void>): Promise<void> {
  const sockets = new Set<Socket>();
  const server = createServer((socket) => {
    sockets.add(socket);
    socket.on('error', () => undefined);
    socket.write('Content-Type: auth/request\n\n');
    let buffered = '';
    socket.on('data', (d: Buffer) => {
      buffered += d.toString('utf8');
      let end: number;
      while ((end = buffered.indexOf('\n\n')) >= 0) {
        const packet = buffered.slice(0, end);
        buffered = buffered.slice(end + 2);
        if (packet.startsWith('auth ')) socket.write('Content-Type: command/reply\nReply-Text: +OK accepted\n\n');
        else if (packet.startsWith('event json')) socket.write('Content-Type: command/reply\nReply-Text: +OK event listener enabled json\n\n');
        else if (packet.startsWith('nixevent ')) socket.write('Content-Type: command/reply\nReply-Text: +OK events nixed\n\n');
        else if (packet.startsWith('bgapi ')) onBgapi(socket, packet);
      }
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const address = server.address();
  const c = newClient(typeof address === 'object' && address !== null ? address.port : 0);
  try {
    c.start();
    await connected(c);
    await body(c);
  } finally {
    await c.stop();
    for (const s of sockets) s.destroy();
    await new Promise<void>((resolve) => server.close(() => resolve()));
  }
}

/** Simulator (its trunk rings until `originateTimeoutMs`), wire tap, connected client. */
async function boot(originateTimeoutMs: number): Promise<void> {
  sim = await startFreeSwitchSimulator({ farEnd: { default: { kind: 'no-answer' } }, originateTimeoutMs });
  tap = await WireTap.start({ host: sim.host, port: sim.eslPort });
  tap.on('change', () => changes.emit('change'));
  events = [];
  client = newClient(tap.port);
  client.start();
  await connected(client);
}

async function shutdown(): Promise<void> {
  await client.stop();
  await tap.close();
  await sim.stop();
}

beforeEach(() => boot(60_000));

afterEach(() => shutdown());

/** The bgapi packets the client wrote, as [command line, header lines]. */
function bgapiPackets(): Array<{ line: string; headers: string[] }> {
  return tap
    .text()
    .split('\n\n')
    .filter((p) => p.startsWith('bgapi '))
    .map((p) => {
      const [line = '', ...headers] = p.split('\n');
      return { line, headers };
    });
}

describe('EslClient.bgapi', () => {
  it('subscribes to BACKGROUND_JOB (without it FreeSWITCH sends no result, real capture esl-03 step 14)', () => {
    expect(SUBSCRIBED_EVENTS).toContain('BACKGROUND_JOB');
  });

  it('bgapi status resolves with the BACKGROUND_JOB body for its own Job-UUID', async () => {
    const timersBefore = liveTimers();
    const body = await client.bgapi(status());
    expect(liveTimers()).toBe(timersBefore); // the deadline was cleared with the result
    expect(body).toMatch(/^UP \d+ years, /);
    expect(body).toContain('is ready\n');
    const packets = bgapiPackets();
    expect(packets).toHaveLength(1);
    expect(packets[0]?.line).toBe('bgapi status');
    const jobHeader = packets[0]?.headers[0] ?? '';
    expect(packets[0]?.headers).toHaveLength(1);
    const jobId = jobHeader.replace(/^Job-UUID: /, '');
    expect(jobId).toMatch(UUID);
    const job = events.find((e) => e.name === 'BACKGROUND_JOB');
    expect(job?.headers.get('Job-UUID')).toBe(jobId);
    expect(job?.headers.get('Job-Command')).toBe('status');
    expect(job?.body).toBe(body);
    expect(client.pendingCount).toBe(0);
  });

  it('matches each result to its own job by Job-UUID, whatever the order', async () => {
    // the originate is asked first and finishes last: the others' results must not be taken for it
    const ringing = client.bgapi(NEVER_ANSWERED, { timeoutMs: 5_000 }).then(
      () => undefined,
      (e: unknown) => e,
    );
    const [kill, up] = await Promise.all([client.bgapi(uuidKill('00000000-1111-2222-3333-444444444444')), client.bgapi(status())]);
    expect(kill).toBe('-ERR No such channel!\n');
    expect(up).toMatch(/^UP /);
    expect(client.pendingCount).toBe(1);
    await client.stop();
    expect(await ringing).toBeInstanceOf(EslError);
    expect(client.pendingCount).toBe(0);
  });

  it('a job that never completes times out, is forgotten, and the connection stays usable', async () => {
    const started = Date.now();
    const err = await client.bgapi(NEVER_ANSWERED, { timeoutMs: 300 }).then(
      () => undefined,
      (e: unknown) => e,
    );
    expect(err).toBeInstanceOf(TimeoutError);
    expect((err as Error).message).toMatch(/bgapi originate .*accepted, no BACKGROUND_JOB.* timed out after 300 ms/);
    expect(Date.now() - started).toBeGreaterThanOrEqual(290);
    expect(client.pendingCount).toBe(0);
    // the reply arrived, so replies are still in order: the connection is kept and serves the next request
    expect(client.state).toBe('connected');
    expect(tap.connections).toBe(1);
    await expect(client.bgapi(status())).resolves.toMatch(/^UP /);
    await expect(client.api(status())).resolves.toMatch(/^UP /);
    expect(client.pendingCount).toBe(0);
  });

  it('a late BACKGROUND_JOB for a forgotten job is ignored', async () => {
    await shutdown();
    await boot(400);
    await expect(client.bgapi(NEVER_ANSWERED, { timeoutMs: 100 })).rejects.toBeInstanceOf(TimeoutError);
    // the simulator's ring timeout ends the originate later: its result arrives for a job nobody waits for
    await waitUntil(changes, () => events.some((e) => e.name === 'BACKGROUND_JOB'), 'the late BACKGROUND_JOB', 3_000);
    expect(events.find((e) => e.name === 'BACKGROUND_JOB')?.body).toBe('-ERR NO_ANSWER\n');
    expect(client.pendingCount).toBe(0);
    expect(client.state).toBe('connected');
    await expect(client.bgapi(status())).resolves.toMatch(/^UP /);
  });

  it('rejects a pending job at once when the connection is lost, leaving nothing pending', async () => {
    const timersBefore = liveTimers();
    const job = client.bgapi(NEVER_ANSWERED, { timeoutMs: 3_000 });
    await waitUntil(changes, () => bgapiPackets().length === 1, 'the bgapi packet on the wire');
    const started = Date.now();
    await sim.stop();
    const err = await job.then(
      () => undefined,
      (e: unknown) => e,
    );
    expect(err).toBeInstanceOf(EslError);
    expect((err as Error).message).toMatch(/ESL connection lost before bgapi originate \(job [0-9a-f-]{36}\) finished/);
    expect(Date.now() - started).toBeLessThan(1_000);
    expect(client.pendingCount).toBe(0);
    expect(liveTimers()).toBeLessThanOrEqual(timersBefore); // the deadline does not outlive the job
  });

  it('drops the connection when not even the command/reply comes in time (replies are matched by order)', async () => {
    await withScriptedSocket(() => undefined, async (c) => {
      const err = await c.bgapi(status(), { timeoutMs: 200 }).then(
        () => undefined,
        (e: unknown) => e,
      );
      expect(err).toBeInstanceOf(TimeoutError);
      expect((err as Error).message).toMatch(/bgapi status .*no reply.* timed out after 200 ms/);
      expect(c.pendingCount).toBe(0);
      expect(c.state).toBe('stopped'); // lost, and this client does not reconnect
      expect(c.lastFailure).toMatch(/no reply to bgapi status within 200 ms/);
    });
  });

  it('fails the job on a -ERR reply (userauth API restriction) and keeps the connection', async () => {
    await withScriptedSocket((socket) => socket.write('Content-Type: command/reply\nReply-Text: -ERR permission denied\n\n'), async (c) => {
      await expect(c.bgapi(status())).rejects.toThrow(/bgapi status refused: -ERR permission denied/);
      expect(c.pendingCount).toBe(0);
      expect(c.state).toBe('connected');
    });
  });

  it('follows the Job-UUID the reply names', async () => {
    const other = '8b792ac6-67bd-4649-8e30-d6c9ba0dc1cb';
    const event = JSON.stringify({ 'Event-Name': 'BACKGROUND_JOB', 'Core-UUID': '77fff6c7-fdd5-4af4-a5c2-2c6bb846d808', 'Job-UUID': other, 'Job-Command': 'status', 'Content-Length': '3', _body: 'UP\n' });
    await withScriptedSocket((socket) => {
      socket.write(`Content-Type: command/reply\nReply-Text: +OK Job-UUID: ${other}\nJob-UUID: ${other}\n\n`);
      socket.write(`Content-Length: ${Buffer.byteLength(event)}\nContent-Type: text/event-json\n\n${event}`);
    }, async (c) => {
      await expect(c.bgapi(status())).resolves.toBe('UP\n');
      expect(c.pendingCount).toBe(0);
    });
  });

  it.each([
    ['a newline in the arguments', { command: 'status', args: 'x\napi shutdown' }],
    ['a CR in the arguments', { command: 'status', args: 'x\r\n\r\napi shutdown' }],
    ['a space in the command name', { command: 'uuid_kill x', args: '' }],
    ['a newline in the command name', { command: 'status\n\nexit', args: '' }],
  ])('refuses %s before anything is written', async (_name, command: ApiCommand) => {
    const before = tap.text();
    await expect(client.bgapi(command)).rejects.toBeInstanceOf(EslArgumentError);
    expect(client.pendingCount).toBe(0);
    // a request after it reaches the wire first: the refused one wrote nothing
    await client.bgapi(status());
    const written = tap.text().slice(before.length);
    expect(written).toMatch(/^bgapi status\nJob-UUID: [0-9a-f-]{36}\n\n$/);
  });

  it.each([
    ['a UUID with a newline', () => uuidKill('00000000-1111-2222-3333-444444444444\napi shutdown')],
    ['a UUID with a space', () => uuidKill('00000000-1111-2222-3333-444444444444 x')],
    ['a cause with a space', () => uuidKill('00000000-1111-2222-3333-444444444444', 'NORMAL CLEARING')],
  ])('the command builders refuse %s, so no bgapi is built from it', (_name, build) => {
    expect(build).toThrow(EslArgumentError);
    expect(bgapiPackets()).toHaveLength(0);
  });

  it('refuses when not connected, without queueing anything', async () => {
    await client.stop();
    await expect(client.bgapi(status())).rejects.toThrow(/not connected/);
    expect(client.pendingCount).toBe(0);
  });
});
