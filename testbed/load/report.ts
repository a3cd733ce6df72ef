import type { LoadReport, Percentiles } from './run.ts';

export function formatReport(report: LoadReport): string {
  const rows: Array<[string, string]> = [];
  const add = (label: string, value: string | number) => rows.push([label, String(value)]);
  const entries = (record: Readonly<Record<string, number>>) =>
    Object.entries(record).sort(([a], [b]) => (a < b ? -1 : 1));
  const ms = (p: Percentiles) =>
    p.count === 0
      ? 'n/a'
      : `p50 ${p.p50.toFixed(1)} ms, p99 ${p.p99.toFixed(1)} ms, max ${p.max.toFixed(1)} ms (n=${p.count})`;

  add('events sent (HTTP requests, redeliveries included)', report.httpRequests);
  add('  of which redeliveries', report.redeliveries);
  add('deliveries (distinct events and their second deliveries)', report.deliveries);
  if (report.unsent > 0) add('  not sent (time limit)', report.unsent);
  add('distinct requests', report.distinct);
  add('pods created', report.podsCreated);
  add('replies: done', report.answers.done);
  for (const [reason, n] of entries(report.answers.failed)) add(`replies: failed ${reason}`, n);
  for (const [status, n] of entries(report.answers.status4xx)) add(`replies: HTTP ${status}`, n);
  for (const [status, n] of entries(report.answers.status5xx)) add(`replies: HTTP ${status}`, n);
  add('replies: none (connection error, timeout)', report.answers.connectionErrors);
  for (const [final, n] of entries(report.finals)) add(`deliveries ending ${final}`, n);
  add('Kubernetes API calls', report.apiCalls);
  const injected = entries(report.faults.injected);
  const total = injected.reduce((sum, [, n]) => sum + n, 0);
  add(
    'API faults injected',
    `${total}${total > 0 ? ` (${injected.map(([k, n]) => `${k} ${n}`).join(', ')})` : ''}, ${report.faults.unused} unused`,
  );
  add('latency per HTTP request', ms(report.latencyMs.perRequest));
  add('latency per distinct request (to its first done)', ms(report.latencyMs.perDistinct));
  add('elapsed', `${(report.elapsedMs / 1000).toFixed(1)} s`);
  add('DUPLICATES (pods beyond one per request)', report.duplicates);
  add('LOST (requests without their pod and a done)', report.lost);

  const width = Math.max(...rows.map(([label]) => label.length));
  const lines = rows.map(([label, value]) => `${label.padEnd(width)}  ${value}`);
  if (report.examples.duplicates.length > 0) {
    lines.push('', 'duplicates, for example:', ...report.examples.duplicates.map((e) => `  ${e}`));
  }
  if (report.examples.lost.length > 0) {
    lines.push('', 'lost, for example:', ...report.examples.lost.map((e) => `  ${e}`));
  }
  return lines.join('\n');
}
