// The CloudEvents SDK's ValidationError says "invalid payload" and then its validator's findings
// as JSON on further lines: one line instead, attribute by attribute.

/** `source must match format "uri-reference"; id must be string`, else the first line. */
export function describeValidationError(error: unknown): string {
  if (!(error instanceof Error)) return String(error);
  const findings = 'errors' in error && Array.isArray(error.errors) ? error.errors : [];
  const described = findings.map(describeFinding).filter(Boolean);
  if (described.length > 0) return described.join('; ');
  return error.message.split('\n')[0] ?? error.message;
}

function describeFinding(finding: unknown): string {
  if (typeof finding !== 'object' || finding === null) return '';
  const path = 'instancePath' in finding ? String(finding.instancePath).replace(/^\//, '') : '';
  const message = 'message' in finding ? String(finding.message) : '';
  return `${path || 'the event'} ${message}`.trim();
}

/** ce-id and ce-source as sent (binary mode), for the log line of a request refused unread. */
export function headerAttributes(
  headers: Readonly<Record<string, string | string[] | undefined>>,
): {
  eventId: string | undefined;
  source: string | undefined;
} {
  const value = (name: string) => {
    const header = headers[name];
    return Array.isArray(header) ? header.join(', ') : header;
  };
  return { eventId: value('ce-id'), source: value('ce-source') };
}
