// Environment variable names an event may set on the client container (`env` overrides).

/** What Kubernetes accepts as an env name (C_IDENTIFIER with '-' and '.', not starting with a digit). */
export function isEnvName(name: string): boolean {
  return /^[-._a-zA-Z][-._a-zA-Z0-9]*$/.test(name);
}

/**
 * Variables that make a loader, a shell or an interpreter run code or reach elsewhere, or that
 * turn TLS verification off or swap its trust: for an image whose command runs a shell or an
 * interpreter, setting one amounts to setting `command`. Compared without case: curl reads
 * `http_proxy` as well as `HTTP_PROXY`.
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
  // Code run at start by other interpreters and runtimes.
  'LUA_INIT',
  'LUA_PATH',
  'LUA_CPATH',
  'PHPRC',
  'PHP_INI_SCAN_DIR',
  'DOTNET_STARTUP_HOOKS',
  'OPENSSL_CONF',
  'OPENSSL_MODULES',
  'OPENSSL_ENGINES',
  'GIT_CONFIG_PARAMETERS',
  'GIT_CONFIG_GLOBAL',
  'GIT_CONFIG_SYSTEM',
  'GIT_SSH',
  'GIT_SSH_COMMAND',
  'GIT_PROXY_COMMAND',
  'GIT_EXEC_PATH',
  'GIT_ASKPASS',
  'EDITOR',
  'PAGER',
  'GODEBUG',
  // TLS verification off, or another trust store or key log.
  'NODE_TLS_REJECT_UNAUTHORIZED',
  'PYTHONHTTPSVERIFY',
  'REQUESTS_CA_BUNDLE',
  'GIT_SSL_NO_VERIFY',
  'GIT_SSL_CAINFO',
  'GIT_SSL_CAPATH',
  'CURL_SSL_NO_VERIFY',
  'SSLKEYLOGFILE',
  'GRPC_DEFAULT_SSL_ROOTS_FILE_PATH',
  'AWS_CA_BUNDLE',
  'PIP_CERT',
  'PIP_TRUSTED_HOST',
  'NPM_CONFIG_STRICT_SSL',
  'NPM_CONFIG_CAFILE',
  'YARN_STRICT_SSL',
  'GOINSECURE',
  'GONOSUMCHECK',
  'GONOSUMDB',
  'GOFLAGS',
]);

/**
 * The dynamic loader's own variables (glibc's LD_*, musl's too, macOS's DYLD_*), and the versioned
 * forms of Lua's (LUA_INIT_5_4, LUA_PATH_5_4).
 */
const RISKY_PREFIXES = ['LD_', 'DYLD_', 'LUA_INIT_', 'LUA_PATH_', 'LUA_CPATH_'];

export function isRiskyEnvName(name: string): boolean {
  const upper = name.toUpperCase();
  return RISKY_NAMES.has(upper) || RISKY_PREFIXES.some((prefix) => upper.startsWith(prefix));
}
