// HTTP headers as the runtime hands them to the function (Node's, read only): read by the
// envelope checks (src/events/envelope.ts) and the event's span (src/observability/tracing.ts).
export type Headers = Readonly<Record<string, string | string[] | undefined>>;
