/** Time rules of the service (PROTOCOL §10), in whole seconds unless the name says otherwise. */
export interface Timings {
  readonly presenceTtlS: number;
  readonly disconnectGraceS: number;
  readonly cooldownS: number;
  readonly lessonTtlS: number;
  /** How long one node's claim on a session end lasts before another node may retry it. */
  readonly sessionEndLeaseMs: number;
}

export const DEFAULT_TIMINGS: Timings = {
  presenceTtlS: 60,
  disconnectGraceS: 300,
  cooldownS: 300,
  lessonTtlS: 86_400,
  sessionEndLeaseMs: 30_000,
};
