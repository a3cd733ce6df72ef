// Kubernetes resource quantities (`100m`, `64Mi`, `1.5`, `1e3`): the one reading of them for the
// settings (CLIENT_REQUESTS, CLIENT_LIMITS) and the events' `resources` overrides alike.

/** The resources a client container's requests and limits may name. */
export const RESOURCE_NAMES: readonly string[] = ['cpu', 'memory', 'ephemeral-storage'];

const QUANTITY = /^\+?(\d+(?:\.\d*)?|\.\d+)([KMGTPE]i|[numkMGTPE]|[eE][+-]?\d+)?$/;

const SUFFIXES: Readonly<Record<string, number>> = {
  n: 1e-9,
  u: 1e-6,
  m: 1e-3,
  '': 1,
  k: 1e3,
  M: 1e6,
  G: 1e9,
  T: 1e12,
  P: 1e15,
  E: 1e18,
  Ki: 2 ** 10,
  Mi: 2 ** 20,
  Gi: 2 ** 30,
  Ti: 2 ** 40,
  Pi: 2 ** 50,
  Ei: 2 ** 60,
};

export function isResourceName(name: string): boolean {
  return RESOURCE_NAMES.includes(name);
}

export function isQuantity(value: string): boolean {
  return QUANTITY.test(value);
}

/** The number a quantity stands for (cores, bytes), for comparing two of them; NaN if none. */
export function quantityValue(quantity: string): number {
  const match = QUANTITY.exec(quantity);
  if (!match) return Number.NaN;
  const [, number = '', suffix = ''] = match;
  // An exponent (`1e3`), not the exa suffixes `E` and `Ei`.
  if (/^[eE][+-]?\d/.test(suffix)) return Number(number + suffix);
  return Number(number) * (SUFFIXES[suffix] ?? Number.NaN);
}

/**
 * Whether the kubelet enforces the quantity as a limit: a zero CPU or memory limit is read as no
 * limit at all (kubernetes pkg/kubelet/cm/helpers_linux.go, milliCPUToQuota).
 */
export function isPositiveQuantity(quantity: string): boolean {
  return quantityValue(quantity) > 0;
}

/** Whether `quantity` is at most `ceiling`; a value that cannot be compared (NaN) is not. */
export function isAtMost(quantity: string, ceiling: string): boolean {
  return quantityValue(quantity) <= quantityValue(ceiling);
}

/** The first resource whose request is above its limit, in the order of RESOURCE_NAMES. */
export function requestAboveLimit(
  requests: Readonly<Record<string, string>>,
  limits: Readonly<Record<string, string>>,
): string | undefined {
  return RESOURCE_NAMES.find((name) => {
    const request = requests[name];
    const limit = limits[name];
    return request !== undefined && limit !== undefined && !isAtMost(request, limit);
  });
}
