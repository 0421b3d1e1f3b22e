import { chmodSync, mkdtempSync, readFileSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { ghostUserId, localpartOf, numberOfGhost } from '../../src/appservice/ghosts.ts';
import { displayNumber, PhoneDirectory, pstnProtocol } from '../../src/appservice/phone-directory.ts';
import { parseTransactionBody } from '../../src/appservice/pushed-events.ts';
import { RoomStates } from '../../src/appservice/room-states.ts';
import { newRegistration, parseRegistration, readRegistration, RegistrationError, writeRegistration } from '../../src/appservice/registration.ts';
import { compileRules } from '../../src/calls/refusals.ts';
import { parseConfig, serverNameOf } from '../../src/config/load.ts';

const naming = { prefix: '_sip_', serverName: 'example.org' };

describe('ghosts', () => {
  it('one per number, and back', () => {
    expect(ghostUserId(naming, '+4930123456')).toBe('@_sip_+4930123456:example.org');
    expect(numberOfGhost(naming, '@_sip_+4930123456:example.org')).toBe('+4930123456');
    expect(numberOfGhost(naming, '@_sip_1234:example.org')).toBe('1234');
    expect(localpartOf('@_sip_+4930123456:example.org')).toBe('_sip_+4930123456');
  });
  it('the bot, other servers, and anything not a number are not ghosts', () => {
    expect(numberOfGhost(naming, '@_sip_bot:example.org')).toBeUndefined();
    expect(numberOfGhost(naming, '@_sip_+4930123456:evil.org')).toBeUndefined();
    expect(numberOfGhost(naming, '@alice:example.org')).toBeUndefined();
    expect(numberOfGhost(naming, '@_sip_+49 30:example.org')).toBeUndefined();
    expect(() => ghostUserId(naming, 'anonymous')).toThrow(/not a number/);
  });
});

describe('registration', () => {
  it('is written with mode 0600, never over an existing one unless forced, and read back with its tokens hidden', () => {
    const path = join(mkdtempSync(join(tmpdir(), 'mse-reg-')), 'registration.yaml');
    const reg = newRegistration({ id: 'matrix-sip-edge', url: 'http://edge:9465', senderLocalpart: '_sip_bot', ghostPrefix: '_sip_', serverName: 'example.org' });
    writeRegistration(path, reg, false);
    expect(statSync(path).mode & 0o777).toBe(0o600);
    expect(() => writeRegistration(path, reg, false)).toThrow(/exists already/);
    const read = readRegistration(path);
    expect(read.asToken.reveal()).toBe(reg['as_token']);
    expect(String(read.hsToken)).toBe('[redacted]');
    expect(readFileSync(path, 'utf8')).toContain('regex: "@_sip_.*:example\\\\.org"');
    const again = newRegistration({ id: 'x', url: 'http://e', senderLocalpart: 'b', ghostPrefix: '_sip_', serverName: 's' });
    chmodSync(path, 0o644); // say someone made it readable: --force must not leave new tokens so
    writeRegistration(path, again, true);
    expect(statSync(path).mode & 0o777).toBe(0o600);
    expect(readRegistration(path).asToken.reveal()).toBe(again['as_token']);
  });
  it('a registration that does not fit is refused naming the file and the field', () => {
    expect(() => parseRegistration('id: x\nurl: http://e\nas_token: short\nhs_token: also-short\nsender_localpart: bot\nnamespaces: {}\n', 'reg.yaml')).toThrow(/reg\.yaml: as_token: must be 16-256/);
    expect(() => parseRegistration(': :', 'reg.yaml')).toThrow(RegistrationError);
    expect(() => readRegistration('/nonexistent/registration.yaml')).toThrow(/register command first/);
  });
});

describe('phone directory', () => {
  const config = parseConfig(
    {
      esl: { password: 'p' },
      verto: { url: 'ws://127.0.0.1:8081', login: 'edge@127.0.0.1', password: 'p' },
      matrix: { homeserver_url: 'http://127.0.0.1:8008', mode: 'appservice', user_id: '@_sip_bot:example.org' },
      routing: { default_country: 'DE', default_gateway: 'trunk' },
      policy: { allow_destinations: ['^\\+49'] },
      caller_id: { default_number: '+4930555000' },
    },
    {},
  );
  const dir = new PhoneDirectory(compileRules(config), naming);

  it('finds the ghost of a number typed as people type it, only when the policy lets someone call it', () => {
    expect(dir.lookup('m.protocol.pstn', { 'm.id.phone': '030 123456' })).toEqual([{ userid: '@_sip_+4930123456:example.org', protocol: 'm.protocol.pstn', fields: { 'm.id.phone': '+4930123456' } }]);
    expect(dir.lookup('m.protocol.pstn', { 'm.id.phone': '+1 212 555 0100' })).toEqual([]);
    expect(dir.lookup('m.protocol.pstn', { 'm.id.phone': 'robert' })).toEqual([]);
    expect(dir.lookup('m.protocol.pstn', {})).toEqual([]);
    expect(dir.reverse('@_sip_+4930123456:example.org')).toEqual([{ userid: '@_sip_+4930123456:example.org', protocol: 'm.protocol.pstn', fields: { 'm.id.phone': '+4930123456' } }]);
  });
  it('describes the protocol with every field the spec requires', () => {
    expect(Object.keys(pstnProtocol()).sort()).toEqual(['field_types', 'icon', 'instances', 'location_fields', 'user_fields']);
    expect(displayNumber('+4930123456')).toBe('+49 30 123456');
    expect(displayNumber('1234')).toBe('1234');
  });
  it('the config derives the server name and the registration path', () => {
    expect(serverNameOf(config.matrix.user_id)).toBe('example.org');
    expect(config.matrix.appservice.registration_file).toMatch(/registration\.yaml$/);
  });
  it('appservice mode takes no access token or password (they come from the registration)', () => {
    const base = { esl: { password: 'p' }, verto: { url: 'ws://127.0.0.1:8081', login: 'edge@127.0.0.1', password: 'p' } };
    expect(() => parseConfig({ ...base, matrix: { homeserver_url: 'http://h', mode: 'appservice', user_id: '@b:s', access_token: 'x' } }, {})).toThrow(/matrix\.access_token/);
  });
});

describe('pushed events', () => {
  it('each event is validated alone: the bad one is skipped with a reason, the others kept', () => {
    const good = { type: 'm.room.message', room_id: '!r:s', sender: '@a:s', event_id: '$1', origin_server_ts: 1, content: { body: 'x' }, age: 5 };
    const parsed = parseTransactionBody({ events: [good, { type: 'm.call.invite' }, { ...good, event_id: '$2', unsigned: { age: 7 } }] });
    expect(parsed.ok).toBe(true);
    if (!parsed.ok) return;
    expect(parsed.events.map((e) => [e.eventId, e.ageMs])).toEqual([['$1', 5], ['$2', 7]]);
    expect(parsed.skipped).toBe(1);
    expect(parseTransactionBody({ nope: 1 }).ok).toBe(false);
    expect(parseTransactionBody([]).ok).toBe(false);
  });
});

describe('room states', () => {
  it('a change pushed while the room\'s state is being read is kept over the snapshot, which would otherwise undo it', () => {
    const rooms = new RoomStates();
    rooms.beginLoad('!r:s');
    rooms.apply('!r:s', { type: 'm.room.power_levels', stateKey: '', content: { users: { '@a:s': 0 } } });
    rooms.apply('!r:s', { type: 'm.room.member', stateKey: '@_sip_+4930123456:s', content: { membership: 'join' } });
    // the snapshot was taken before those
    rooms.load('!r:s', [{ type: 'm.room.power_levels', state_key: '', content: { users: { '@a:s': 100 } } }]);
    expect(rooms.get('!r:s')?.powerLevels).toEqual({ users: { '@a:s': 0 } });
    expect(rooms.isJoined('!r:s', '@_sip_+4930123456:s')).toBe(true);
    expect(rooms.get('!r:s')?.complete).toBe(true);
  });
});
