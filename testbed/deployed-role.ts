// deploy/rbac.yaml's Role, for the API test server to enforce: a call the code makes that the
// Role does not grant fails in the tests as it would in a cluster.
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { parseAllDocuments } from 'yaml';
import { PROJECT_ROOT } from './function-process.ts';
import type { PolicyRule } from './kube-api-server/server.ts';

export interface DeployedRole {
  /** The ServiceAccount the Role is bound to. */
  readonly account: string;
  readonly namespace: string;
  readonly rules: PolicyRule[];
}

export async function readDeployedRole(): Promise<DeployedRole> {
  const text = await readFile(join(PROJECT_ROOT, 'deploy', 'rbac.yaml'), 'utf8');
  const docs = parseAllDocuments(text).map(
    (doc) =>
      doc.toJS() as {
        kind?: string;
        metadata?: { name?: string; namespace?: string };
        rules?: PolicyRule[];
      },
  );
  const role = docs.find((doc) => doc.kind === 'Role');
  const account = docs.find((doc) => doc.kind === 'ServiceAccount')?.metadata;
  if (!role?.rules || !account?.name || !account.namespace) {
    throw new Error('deploy/rbac.yaml: no Role, or no ServiceAccount with a namespace');
  }
  return { account: account.name, namespace: account.namespace, rules: role.rules };
}
