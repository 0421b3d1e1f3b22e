// Loader of the real drachtio captures (../shared/traces/real/drachtio-*.json),
// validated on load: the relay's reads and connection events, the frames
// cut from them, and drachtio-server's own log of the SIP side.
import { readFileSync } from 'node:fs';
import { z } from 'zod';
import type { SipPeer } from './network.ts';

const relayEvent = z.object({
  seq: z.number(),
  t: z.string(),
  tRelS: z.number(),
  conn: z.number().optional(),
  event: z.string().optional(),
  detail: z.string().optional(),
  dir: z.enum(['srf->server', 'server->srf']).optional(),
  b64: z.string().optional(),
  framesCompleted: z.array(z.number()).optional(),
});

const frame = z.object({
  n: z.number(),
  conn: z.number(),
  dir: z.enum(['srf->server', 'server->srf']),
  framedText: z.string(),
  lengthPrefix: z.number(),
});

const sipLog = z.object({
  t: z.string(),
  dir: z.enum(['network->drachtio', 'drachtio->network']),
  bytes: z.number(),
  peer: z.string(),
  text: z.string(),
});

const capture = z.object({
  title: z.string(),
  relay_events_and_chunks: z.array(relayEvent),
  frames: z.array(frame),
  sip_side_from_drachtio_server_debug_log: z.array(sipLog),
});

export type DrachtioCapture = z.infer<typeof capture>;
export type CaptureFrame = z.infer<typeof frame>;

export function loadCapture(path: string): DrachtioCapture {
  return capture.parse(JSON.parse(readFileSync(path, 'utf8')) as unknown);
}

/** The SIP bytes behind a debug-log entry: the log prints the final CRLF as one space. */
export function logRaw(entry: { text: string; bytes: number }): string {
  const raw = entry.text.endsWith(' ') ? `${entry.text.slice(0, -1)}\r\n` : entry.text;
  if (Buffer.byteLength(raw, 'utf8') !== entry.bytes) throw new Error(`debug-log entry of ${entry.bytes} bytes does not rebuild (${Buffer.byteLength(raw, 'utf8')})`);
  return raw;
}

/** `udp/[127.0.0.1]:5094` -> peer. */
export function logPeer(text: string): SipPeer {
  const m = /^(udp|tcp)\/\[([^\]]+)\]:([0-9]+)$/.exec(text);
  if (m === null) throw new Error(`unexpected peer ${text}`);
  return { transport: m[1] === 'tcp' ? 'tcp' : 'udp', address: m[2] ?? '', port: Number(m[3]) };
}

/** A frame's payload (the text after `<length>#`). */
export function framePayload(f: CaptureFrame): string {
  return f.framedText.slice(f.framedText.indexOf('#') + 1);
}
