// Environment variable names an event may set on the client container (`env` overrides).

/** What Kubernetes accepts as an env name (C_IDENTIFIER with '-' and '.', not starting with a digit). */
export function isEnvName(name: string): boolean {
  return /^[-._a-zA-Z][-._a-zA-Z0-9]*$/.test(name);
}

/**
 * Variables that make a loader, a shell or an interpreter run code or reach elsewhere: for an
 * image whose command runs a shell or an interpreter, setting one amounts to setting `command`.
 * Compared without case: curl reads `http_proxy` as well as `HTTP_PROXY`.
 */
const RISKY_NAMES: ReadonlySet<string> = new Set([
  'BASH_ENV',
  'ENV',
  'BASHOPTS',
  'SHELLOPTS',
  'PS4',
  'IFS',
  'PROMPT_COMMAND',
  'PATH',
  'NODE_OPTIONS',
  'NODE_PATH',
  'NODE_EXTRA_CA_CERTS',
  'PYTHONPATH',
  'PYTHONSTARTUP',
  'PYTHONHOME',
  'PYTHONWARNINGS',
  'PERL5OPT',
  'PERL5LIB',
  'PERLLIB',
  'RUBYOPT',
  'RUBYLIB',
  'JAVA_TOOL_OPTIONS',
  '_JAVA_OPTIONS',
  'JDK_JAVA_OPTIONS',
  'CLASSPATH',
  'GCONV_PATH',
  'HOSTALIASES',
  'RESOLV_HOST_CONF',
  'HTTP_PROXY',
  'HTTPS_PROXY',
  'FTP_PROXY',
  'ALL_PROXY',
  'NO_PROXY',
  'CURL_HOME',
  'CURL_CA_BUNDLE',
  'SSL_CERT_FILE',
  'SSL_CERT_DIR',
  'WGETRC',
]);

/** The dynamic loader's own variables (glibc's LD_*, musl's too, macOS's DYLD_*). */
const RISKY_PREFIXES = ['LD_', 'DYLD_'];

export function isRiskyEnvName(name: string): boolean {
  const upper = name.toUpperCase();
  return RISKY_NAMES.has(upper) || RISKY_PREFIXES.some((prefix) => upper.startsWith(prefix));
}
