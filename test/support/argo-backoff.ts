// Argo Events' Backoff (retryStrategy, connectionBackoff, ...) as Argo reads it at run time, not
// as a schema would: pkg/apis/events/v1alpha1/backoff.go and pkg/shared/util/retry.go
// (Convert2WaitBackoff). The manifest's YAML becomes JSON on its way to the API server:
// - factor, jitter: an Amount keeps the raw JSON bytes of the value (amount.go UnmarshalJSON),
//   then strconv.ParseFloat(bytes): a quoted "2" keeps its quotes and fails, so the trigger
//   never fires.
// - duration: an Int64OrString (int64str.go): a JSON number is nanoseconds and must be an
//   integer; a string goes to time.ParseDuration.
// - steps: an int32.

/** The text Go's strconv.ParseFloat(s, 64) accepts (decimal and special values; no hex needed). */
const GO_FLOAT =
  /^[+-]?((\d+(\.\d*)?|\.\d+)([eE][+-]?\d+)?|[iI][nN][fF]([iI][nN][iI][tT][yY])?|[nN][aA][nN])$/;
/** time.ParseDuration: "0", or one or more decimal numbers each with a unit. */
const GO_DURATION = /^[+-]?(0|((\d+(\.\d*)?|\.\d+)(ns|us|µs|μs|ms|s|m|h))+)$/;

/** What is wrong with one Backoff object, as Argo would fail on it; [] when nothing. */
export function backoffProblems(
  backoff: Readonly<Record<string, unknown>>,
  where: string,
): string[] {
  const problems: string[] = [];
  for (const field of ['factor', 'jitter'] as const) {
    if (!(field in backoff)) continue;
    const json = JSON.stringify(backoff[field]);
    if (json === undefined || !GO_FLOAT.test(json)) {
      problems.push(
        `${where}.${field}: ${json} is not an Amount (strconv.ParseFloat fails): write a number`,
      );
    }
  }
  if ('duration' in backoff) {
    const duration = backoff.duration;
    const ok =
      typeof duration === 'number'
        ? Number.isSafeInteger(duration)
        : typeof duration === 'string' && GO_DURATION.test(duration);
    if (!ok) {
      problems.push(
        `${where}.duration: ${JSON.stringify(duration)} is neither whole nanoseconds nor a Go duration such as "1s"`,
      );
    }
  }
  if ('steps' in backoff) {
    const steps = backoff.steps;
    if (!(typeof steps === 'number' && Number.isInteger(steps) && Math.abs(steps) < 2 ** 31)) {
      problems.push(`${where}.steps: ${JSON.stringify(steps)} is not an int32`);
    }
  }
  return problems;
}

function isRecord(value: unknown): value is Readonly<Record<string, unknown>> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

/** Every Backoff in a document: values of `retryStrategy` and of keys ending in `backoff`. */
export function findBackoffs(
  value: unknown,
  path = '',
): Array<{ readonly path: string; readonly backoff: Readonly<Record<string, unknown>> }> {
  if (Array.isArray(value))
    return value.flatMap((item, index) => findBackoffs(item, `${path}[${index}]`));
  if (!isRecord(value)) return [];
  return Object.entries(value).flatMap(([key, child]) => {
    const here = path === '' ? key : `${path}.${key}`;
    const own = (key === 'retryStrategy' || /backoff$/i.test(key)) && isRecord(child);
    return [...(own ? [{ path: here, backoff: child }] : []), ...findBackoffs(child, here)];
  });
}
