/** What the replay driver needs from a running simulator. */
export interface FreeSimulatorHandle {
  readonly eslPort: number;
}
