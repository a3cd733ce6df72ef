import type { Fault, KubeApiServer } from '../kube-api-server/server.ts';
import type { Random } from './random.ts';

export type FaultKind = 'http500' | 'http503' | 'http429' | 'drop' | 'delay' | 'race';

/** Relative weights of the kinds of fault; a kind left out is never injected. */
export type FaultMix = Partial<Record<FaultKind, number>>;

/** Every kind: server errors, throttling, dropped connections, slow answers, lost races. */
export const ALL_FAULTS: FaultMix = {
  http500: 2,
  http503: 2,
  http429: 2,
  drop: 2,
  delay: 2,
  race: 1,
};

/** Faults the function survives without retrying the API: slow answers and lost create races. */
export const BENIGN_FAULTS: FaultMix = { delay: 3, race: 1 };

const POD_PATH = /^\/api\/v1\/namespaces\/[^/]+\/pods(\/[^/]+)?$/;

export interface FaultMixer {
  /** Called before each delivery attempt: injects one fault with the mixer's probability. */
  maybeInject(): void;
  /** Faults injected so far, by kind. */
  readonly injected: Readonly<Record<string, number>>;
  /** Injected faults not yet met by an API call. */
  pending(): number;
}

export function faultMixer(
  server: KubeApiServer,
  rate: number,
  mix: FaultMix,
  random: Random,
): FaultMixer {
  const kinds = Object.entries(mix).filter(([, weight]) => (weight ?? 0) > 0) as Array<
    [FaultKind, number]
  >;
  const total = kinds.reduce((sum, [, weight]) => sum + weight, 0);
  const injected: Record<string, number> = {};
  const choose = (): FaultKind => {
    let at = random() * total;
    for (const [kind, weight] of kinds) {
      at -= weight;
      if (at < 0) return kind;
    }
    return kinds[kinds.length - 1]?.[0] ?? 'delay';
  };
  const faultOf = (kind: FaultKind): Fault => {
    // Most faults meet the create; a few the read that follows a 409.
    const method = kind === 'race' || random() < 0.85 ? 'POST' : 'GET';
    const common: Fault = { method, path: POD_PATH };
    switch (kind) {
      case 'http500':
        return { ...common, status: 500 };
      case 'http503':
        return { ...common, status: 503 };
      case 'http429':
        return { ...common, status: 429, retryAfterSeconds: 0 };
      case 'drop':
        return { ...common, drop: true };
      case 'delay':
        return { ...common, delayMs: 20 + Math.floor(random() * 180) };
      case 'race':
        return { ...common, race: true };
    }
  };
  return {
    maybeInject() {
      if (total === 0 || random() >= rate) return;
      const kind = choose();
      server.injectFault(faultOf(kind));
      injected[kind] = (injected[kind] ?? 0) + 1;
    },
    injected,
    pending: () => server.faults.length,
  };
}
