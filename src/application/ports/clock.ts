/** The only source of time for the core: the system clock in production, a virtual one in the simulator. */
export interface Clock {
  /** Milliseconds since the Unix epoch. */
  nowMs(): number;
}
