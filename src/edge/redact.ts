// What a producer may read in a refusal: the function's own words, not the network behind it.
// Addresses and host names of the API server, a webhook or the sink stay in the log.

const URL_TEXT = /\b[a-z][a-z0-9+.-]*:\/\/[^\s"'<>]+/gi;
/** Node's socket and DNS error codes are followed by the address or host they failed on. */
const SOCKET_ERROR =
  /\b(ECONNREFUSED|ECONNRESET|ETIMEDOUT|EHOSTUNREACH|ENETUNREACH|ENOTFOUND|EAI_AGAIN|EPIPE)\b[ \t]+[^\s,;)]+/g;
/** `dial tcp 10.96.0.1:443`, `lookup kubernetes.default.svc`: Go's wording, from the API server. */
const GO_NET_ERROR = /\b(dial (?:tcp|udp)|lookup)[ \t]+[^\s,;:)]+(:\d+)?/g;
const IPV4 = /\b\d{1,3}(\.\d{1,3}){3}(:\d+)?\b/g;
const IPV6 = /\[?\b[0-9a-f]{0,4}(:[0-9a-f]{0,4}){2,7}\]?(:\d+)?/gi;

/** `text` with every URL, network address and host name behind a socket error replaced. */
export function withoutAddresses(text: string): string {
  return text
    .replace(URL_TEXT, '<url>')
    .replace(SOCKET_ERROR, '$1 <address>')
    .replace(GO_NET_ERROR, '$1 <address>')
    .replace(IPV4, '<address>')
    .replace(IPV6, (match) => (looksLikeIpv6(match) ? '<address>' : match));
}

/** `::1`, `fe80::1`, `2001:db8:0:0:0:0:0:1`; not a time of day such as `12:30:45`. */
function looksLikeIpv6(match: string): boolean {
  return match.includes('::') || match.split(':').length > 3;
}
