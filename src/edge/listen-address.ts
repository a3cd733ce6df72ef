// Where the function listens. The runtime listens on every interface (`::`); run with `npm start`
// on a workstation, the function holds the user's own kubeconfig, and anyone on the network could
// make pods with those credentials. Outside a cluster it listens on loopback only, unless
// LISTEN_HOST says otherwise. `func run` sets no variable of its own in the container it starts
// (only func.yaml's `run.envs`, and VERBOSE with -v): func.yaml sets LISTEN_HOST there.

/** The runtime's own address: every interface, IPv6 and IPv4. */
const EVERY_INTERFACE = '::';
const LOOPBACK = '127.0.0.1';

export interface ListenAddress {
  /** The host given to the server's `listen`. */
  readonly host: string;
  /** Why there, for the line said at start. */
  readonly why: string;
}

/** What decides the address: LISTEN_HOST, else whether in a cluster (KUBERNETES_SERVICE_HOST). */
export interface ListenPlace {
  readonly listenHost: string | undefined;
  readonly kubernetesServiceHost: string | undefined;
}

export function chooseListenAddress(place: ListenPlace): ListenAddress {
  if (place.listenHost !== undefined && place.listenHost !== '') {
    return { host: place.listenHost, why: 'LISTEN_HOST' };
  }
  if (place.kubernetesServiceHost !== undefined && place.kubernetesServiceHost !== '') {
    return { host: EVERY_INTERFACE, why: 'every interface: in a cluster' };
  }
  return {
    host: LOOPBACK,
    why: 'loopback only: not in a cluster; LISTEN_HOST=:: opens it',
  };
}

/** `listening on http://127.0.0.1:8080 (loopback only: …)`. */
export function listeningLine(address: ListenAddress, port: number | undefined): string {
  const host = address.host.includes(':') ? `[${address.host}]` : address.host;
  return `listening on http://${host}:${port ?? '?'} (${address.why})`;
}
