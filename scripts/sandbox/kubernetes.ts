// What the sandbox (`npm run dev`) needs of the Kubernetes it runs the function against: the
// in-memory API server (scripts/sandbox/in-memory.ts) or a real control plane built from Go
// modules (scripts/sandbox/cluster.ts, `npm run dev -- --cluster`).
export interface SandboxKubernetes {
  /** The function's kubeconfig: what deploy/rbac.yaml's Role grants. */
  readonly kubeconfig: string;
  /** A cluster-admin kubeconfig, printed for kubectl. */
  readonly adminKubeconfig: string;
  /** The banner's first line: what the user is looking at. */
  readonly title: string;
  /** Lines of the banner that say what this Kubernetes is. */
  readonly banner: string;
  /** Starts printing a line for each pod as it appears and changes state. */
  reportPods(): void;
  close(): Promise<void>;
}
