// Starts the FreeSWITCH simulator: one channel model shared by the ESL server
// and (when the Verto server exists) the Verto WebSocket server.
import { FreeSwitchModel, type FreeSwitchModelOptions } from './channel-model.ts';
import { EslServer, type EslServerOptions } from './esl-server.ts';

export interface FreeSwitchSimulatorOptions extends FreeSwitchModelOptions {
  readonly host?: string;
  /** ESL port; 0 (default) = ephemeral. */
  readonly eslPort?: number;
  readonly esl?: EslServerOptions;
}

export interface FreeSwitchSimulator {
  readonly model: FreeSwitchModel;
  readonly esl: EslServer;
  readonly eslPort: number;
  readonly host: string;
  /** Closes every socket and server, clears every timer. */
  stop(): Promise<void>;
}

export async function startFreeSwitchSimulator(options: FreeSwitchSimulatorOptions = {}): Promise<FreeSwitchSimulator> {
  const host = options.host ?? '127.0.0.1';
  const model = new FreeSwitchModel(options);
  const esl = new EslServer(model, options.esl);
  const eslPort = await esl.listen(options.eslPort ?? 0, host);
  let stopped = false;
  return {
    model,
    esl,
    eslPort,
    host,
    async stop() {
      if (stopped) return;
      stopped = true;
      await esl.close();
      model.stop();
    },
  };
}

export { FreeSwitchModel } from './channel-model.ts';
export type { FreeSwitchModelOptions, GatewayConfig, InboundCallHandle, InboundCallRequest, OriginateResult } from './channel-model.ts';
export type { FarEndConfig } from './far-end.ts';
export type { EslServerOptions } from './esl-server.ts';
