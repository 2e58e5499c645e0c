/** One response or WebSocket in progress. */
interface OpenStream {
  readonly deployment: string;
  readonly service: string;
}

/**
 * Responses and WebSockets in progress count as activity for as long as they
 * are open (issue #13: a deployment watched over a long server-sent events
 * stream, a download or a WebSocket must not fall asleep under its user). A
 * request only touches its deployment's activity when it ends, so each open one
 * is kept here and touched every `touchMs`, and once more when it ends.
 *
 * Only used with SLEEP_AFTER: it is one Set insert and delete per response.
 */
export class OpenStreams {
  readonly #open = new Set<OpenStream>();
  readonly #timer: NodeJS.Timeout;

  constructor(
    private readonly touch: (deployment: string, service: string) => void,
    touchMs: number,
  ) {
    this.#timer = setInterval(() => {
      for (const s of this.#open) this.touch(s.deployment, s.service);
    }, touchMs).unref();
  }

  /** A response started or a WebSocket was handed over; call the returned function once when it ends. */
  open(deployment: string, service: string): () => void {
    const stream: OpenStream = { deployment, service };
    this.#open.add(stream);
    return () => {
      if (this.#open.delete(stream)) this.touch(deployment, service);
    };
  }

  /** How many are open; for tests. */
  get size(): number {
    return this.#open.size;
  }

  stop(): void {
    clearInterval(this.#timer);
  }
}
