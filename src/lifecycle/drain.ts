// Graceful shutdown: count the requests in flight, refuse new ones once draining, and bound how
// long the ones in flight may still take.

export class Drain {
  #inflight = 0;
  #draining = false;
  #graceIsOver = false;
  /**
   * What each request in flight does when the grace period ends. One entry per request, removed
   * when it ends: a reaction on one long-lived promise instead would keep every request's
   * closure (and its whole request context) alive until shutdown, one per event ever handled.
   */
  readonly #onGraceOver = new Set<() => void>();
  /** Made when draining starts with requests in flight; resolved when the last one ends. */
  #idle: PromiseWithResolvers<void> | undefined;

  get draining(): boolean {
    return this.#draining;
  }

  get inflight(): number {
    return this.#inflight;
  }

  /** Runs `work`; if the grace period ends first, answers with `whenGraceOver()` instead. */
  async track<T>(work: () => Promise<T>, whenGraceOver: () => T): Promise<T> {
    this.#inflight += 1;
    const graceOver = Promise.withResolvers<T>();
    const onGraceOver = () => graceOver.resolve(whenGraceOver());
    if (this.#graceIsOver) onGraceOver();
    else this.#onGraceOver.add(onGraceOver);
    try {
      return await Promise.race([work(), graceOver.promise]);
    } finally {
      this.#onGraceOver.delete(onGraceOver);
      this.#inflight -= 1;
      if (this.#inflight === 0) this.#idle?.resolve();
    }
  }

  /** Stops taking work and resolves once nothing is in flight, `graceMs` at the latest. */
  async drain(graceMs: number): Promise<void> {
    this.#draining = true;
    const timer = setTimeout(() => {
      this.#graceIsOver = true;
      for (const onGraceOver of this.#onGraceOver) onGraceOver();
    }, graceMs);
    if (this.#inflight > 0) {
      this.#idle = Promise.withResolvers<void>();
      await this.#idle.promise;
    }
    clearTimeout(timer);
  }
}
