// Types for modesl 1.2.1 (the package ships none). Only what the edge uses.
declare module 'modesl' {
  import type { Socket } from 'node:net';

  export interface EslHeader {
    name: string;
    value: unknown;
  }

  export class Event {
    headers: EslHeader[];
    body: string;
    type: string;
    getHeader(name: string): string | undefined;
    getBody(): string;
    getType(): string;
  }

  export class Connection {
    constructor(host: string, port: number, password: string, readyCb?: () => void);
    socket: Socket | null;
    on(event: string, listener: (...args: unknown[]) => void): this;
    once(event: string, listener: (...args: unknown[]) => void): this;
    off(event: string, listener: (...args: unknown[]) => void): this;
    removeAllListeners(event?: string): this;
    api(command: string, args: string, cb: (event: Event) => void): void;
    bgapi(command: string, args: string, jobid: string, cb: (event: Event) => void): void;
    sendRecv(command: string, cb: (event: Event) => void): void;
    /** `headers` are written as `Name: value` lines after the command (e.g. bgapi's Job-UUID). */
    sendRecv(command: string, headers: Record<string, string>, cb: (event: Event) => void): void;
    disconnect(): void;
    connected(): boolean;
  }

  const esl: { Connection: typeof Connection; Event: typeof Event };
  export default esl;
}
