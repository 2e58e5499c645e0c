/** What a cluster's primary knows about its workers, for /readyz. */
export interface WorkersReadiness {
  /** Workers that have loaded their route table, of `total`. */
  readonly ready: number;
  readonly total: number;
  /** Replacements loading their table before they take connections (the others serve meanwhile). */
  readonly waiting: number;
  /** Some worker takes connections and every one that does has its table. */
  readonly serving: boolean;
}
