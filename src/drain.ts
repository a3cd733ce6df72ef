// Graceful shutdown: count the requests in flight, refuse new ones once draining, and bound how
// long the ones in flight may still take.

export class Drain {
  #inflight = 0;
  #draining = false;
  #graceOver = Promise.withResolvers<void>();
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
    try {
      return await Promise.race([work(), this.#graceOver.promise.then(whenGraceOver)]);
    } finally {
      this.#inflight -= 1;
      if (this.#inflight === 0) this.#idle?.resolve();
    }
  }

  /** Stops taking work and resolves once nothing is in flight, `graceMs` at the latest. */
  async drain(graceMs: number): Promise<void> {
    this.#draining = true;
    const timer = setTimeout(() => this.#graceOver.resolve(), graceMs);
    if (this.#inflight > 0) {
      this.#idle = Promise.withResolvers<void>();
      await this.#idle.promise;
    }
    clearTimeout(timer);
  }
}
