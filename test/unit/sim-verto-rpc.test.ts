// The text mod_verto writes, the auth gate's table and the SDP shapes.
import { describe, expect, it } from 'vitest';
import { codeErrorText, errorText, invalidMessageText, invalidRequestText, requestText, resultText } from '../support/freeswitch/verto-rpc.ts';
import { methodAllowed, VertoDirectory } from '../support/freeswitch/verto-directory.ts';
import { CAPTURE_USERS } from '../support/freeswitch/capture-config/verto-users.ts';
import { answerSdp, inviteOfferSdp, reofferSdp } from '../support/freeswitch/verto-sdp.ts';

describe('verto-rpc text', () => {
  it('appends sessid to results, keeps repeated keys', () => {
    expect(resultText(3, [['hello', 'world'], ['sessid', 's']], 's')).toBe('{"jsonrpc":"2.0","id":3,"result":{"hello":"world","sessid":"s","sessid":"s"}}');
    expect(errorText(5, [['message', 'SDP missing'], ['message', 'CALL ERROR'], ['code', -32002]])).toBe(
      '{"jsonrpc":"2.0","id":5,"error":{"message":"SDP missing","message":"CALL ERROR","code":-32002}}',
    );
  });

  it('writes framing errors with the id after the error', () => {
    expect(invalidRequestText()).toBe('{"jsonrpc":"2.0","error":{"code":-32600,"message":"Invalid Request"},"id":null}');
    expect(invalidMessageText('x')).toBe('{"jsonrpc":"2.0","error":{"code":-32600,"message":"Invalid message"},"id":"x"}');
    expect(codeErrorText(null, -32000, 'Authentication Required')).toBe('{"jsonrpc":"2.0","id":null,"error":{"code":-32000,"message":"Authentication Required"}}');
    expect(requestText(7, 'verto.punt', [])).toBe('{"jsonrpc":"2.0","id":7,"method":"verto.punt","params":{}}');
  });
});

describe('verto-directory check_auth', () => {
  const dir = new VertoDirectory(CAPTURE_USERS);
  it.each([
    [undefined, -32001, 'Missing params'],
    [{}, -32000, 'Authentication Required'],
    [{ login: '' , passwd: 'x' }, -32000, 'Authentication Required'],
    [{ login: 5, passwd: 'x' }, -32000, 'Authentication Required'],
    [{ login: '1000@127.0.0.1' }, -32001, 'Missing passwd'],
    [{ login: '1000@127.0.0.1', passwd: 'nope' }, -32001, 'Authentication Failure'],
    [{ login: '9999@127.0.0.1', passwd: 'x' }, -32001, 'Login Incorrect'],
    [{ login: '1000', passwd: 'x' }, -32001, 'Missing or improper credentials'],
  ])('%j -> %i %s', (params, code, message) => {
    expect(dir.checkAuth(params)).toEqual({ ok: false, code, message });
  });

  it('accepts the capture user; "verto" allows verto.* and login only', () => {
    const r = dir.checkAuth({ login: '1000@127.0.0.1', passwd: 's3cret-1000' });
    if (!r.ok) throw new Error(r.message);
    expect(r.user.uid).toBe('1000@127.0.0.1');
    expect(methodAllowed(r.user, 'verto.invite')).toBe(true);
    expect(methodAllowed(r.user, 'login')).toBe(true);
    expect(methodAllowed(r.user, 'echo')).toBe(false);
  });

  it('force-register-domain replaces the login domain', () => {
    const d = new VertoDirectory(CAPTURE_USERS, { userauth: true, forceRegisterDomain: '127.0.0.1' });
    expect(d.checkAuth({ login: '1000@elsewhere', passwd: 's3cret-1000' }).ok).toBe(true);
  });
});

describe('verto-sdp shapes', () => {
  const offer = 'v=0\r\na=group:BUNDLE 0\r\nm=audio 9 UDP/TLS/RTP/SAVPF 96 0\r\na=mid:0\r\na=setup:actpass\r\na=rtpmap:96 OPUS/48000/2\r\na=rtpmap:0 PCMU/8000\r\n';
  it('answers like FreeSWITCH: offer spelling, no mid, no BUNDLE, no a=msid, setup active', () => {
    const sdp = answerSdp(offer);
    expect(sdp).toMatch(/^m=audio \d+ UDP\/TLS\/RTP\/SAVPF 96\r$/m);
    expect(sdp).toContain('a=rtpmap:96 OPUS/48000/2\r\n');
    expect(sdp).toContain('a=setup:active\r\n');
    expect(sdp).toContain('a=end-of-candidates\r\n');
    expect(sdp).not.toMatch(/a=mid|a=group|^a=msid:/m);
  });

  it('answers PCMU when no opus is offered, passive to an active offer', () => {
    const sdp = answerSdp('v=0\r\nm=audio 9 RTP/SAVPF 0\r\na=setup:active\r\n');
    expect(sdp).toMatch(/^m=audio \d+ UDP\/TLS\/RTP\/SAVPF 0\r$/m);
    expect(sdp).toContain('a=setup:passive\r\n');
  });

  it('offers RTP/SAVPF in verto.invite and actpass in verto.attach', () => {
    expect(inviteOfferSdp({ pcmuOnly: true })).toMatch(/^m=audio \d+ RTP\/SAVPF 0\r$/m);
    expect(inviteOfferSdp()).not.toContain('a=end-of-candidates');
    expect(reofferSdp()).toContain('a=setup:actpass\r\n');
  });
});
