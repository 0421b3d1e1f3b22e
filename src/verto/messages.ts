import { z } from 'zod';

// JSON-RPC 2.0 as mod_verto speaks it. Everything the server sends is
// validated here into one of these shapes, or refused.

export const rpcErrorSchema = z.looseObject({
  code: z.number().optional(),
  message: z.string(),
});

export const responseSchema = z.union([
  z.looseObject({
    jsonrpc: z.literal('2.0'),
    id: z.union([z.number(), z.string(), z.null()]),
    result: z.looseObject({}),
  }),
  z.looseObject({
    jsonrpc: z.literal('2.0'),
    id: z.union([z.number(), z.string(), z.null()]),
    error: rpcErrorSchema,
  }),
]);

export const serverRequestSchema = z.looseObject({
  jsonrpc: z.literal('2.0'),
  id: z.union([z.number(), z.string()]).optional(),
  method: z.string().regex(/^[A-Za-z][A-Za-z0-9_.]{0,63}$/),
  params: z.looseObject({}).default({}),
});

export type RpcResponse = z.infer<typeof responseSchema>;
export type ServerRequest = z.infer<typeof serverRequestSchema>;

export type ServerMessage =
  | { readonly kind: 'response'; readonly message: RpcResponse }
  | { readonly kind: 'request'; readonly message: ServerRequest };

export class VertoProtocolError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'VertoProtocolError';
  }
}

/** The server answered a request with a JSON-RPC error. */
export class VertoRpcError extends Error {
  readonly code: number | undefined;
  readonly data: Readonly<Record<string, unknown>>;

  constructor(method: string, error: z.infer<typeof rpcErrorSchema>) {
    super(`verto ${method} failed: ${error.message}${error.code === undefined ? '' : ` (${error.code})`}`);
    this.name = 'VertoRpcError';
    this.code = error.code;
    this.data = error;
  }
}

/** Parse one text frame from the server. Batches (arrays) are split by the caller. */
export function parseServerFrame(text: string): ServerMessage[] {
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch {
    throw new VertoProtocolError('frame is not JSON');
  }
  const items = Array.isArray(value) ? value : [value];
  return items.map((item: unknown) => {
    if (typeof item === 'object' && item !== null && 'method' in item) {
      const parsed = serverRequestSchema.safeParse(item);
      if (!parsed.success) throw new VertoProtocolError(`malformed server request: ${parsed.error.issues[0]?.message ?? ''}`);
      return { kind: 'request', message: parsed.data } as const;
    }
    const parsed = responseSchema.safeParse(item);
    if (!parsed.success) throw new VertoProtocolError('frame is neither a request nor a response');
    return { kind: 'response', message: parsed.data } as const;
  });
}

/** The server requests that concern a call get a `{method}` result, as verto.js sends. */
export function needsReply(request: ServerRequest): boolean {
  return request.id !== undefined && typeof request.params['callID'] === 'string';
}
