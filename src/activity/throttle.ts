/**
 * Runs `run` once soon after a poke (leading edge: pokes in the same tick share the
 * run), then at most once per `periodMs`: pokes in between share one run at the end
 * of the period. For work that follows events but must not scale with them.
 */
export class Throttle {
  #lastRun = -Infinity;
  #timer: NodeJS.Timeout | undefined;

  constructor(
    private readonly periodMs: number,
    private readonly run: () => void,
    private readonly clock: () => number = performance.now.bind(performance),
  ) {}

  poke(): void {
    if (this.#timer) return;
    const wait = Math.max(0, this.#lastRun + this.periodMs - this.clock());
    this.#timer = setTimeout(() => this.#fire(), wait).unref();
  }

  /** Runs now if a run is pending (before a shutdown, say). */
  flush(): void {
    if (this.#timer) this.#fire();
  }

  stop(): void {
    clearTimeout(this.#timer);
    this.#timer = undefined;
  }

  #fire(): void {
    clearTimeout(this.#timer);
    this.#timer = undefined;
    this.#lastRun = this.clock();
    this.run();
  }
}
