// ALLOWED_ORIGINS: the browser origins that may post events (CORS). None by default: a page on
// another site must not be able to make pods through a visitor's browser.
import { ConfigError } from './errors.ts';

/** `https://app.example.com`, `http://localhost:3000`: scheme, host and optional port only. */
export function parseAllowedOrigins(value: string | undefined): ReadonlySet<string> {
  const origins = (value ?? '')
    .split(',')
    .map((origin) => origin.trim())
    .filter(Boolean);
  for (const origin of origins) {
    if (!isOrigin(origin)) {
      throw new ConfigError(
        'ALLOWED_ORIGINS',
        `"${origin}" is not an origin: write scheme://host[:port], e.g. https://app.example.com (no path, no wildcard)`,
      );
    }
  }
  return Object.freeze(new Set(origins));
}

function isOrigin(text: string): boolean {
  try {
    const url = new URL(text);
    return (url.protocol === 'https:' || url.protocol === 'http:') && url.origin === text;
  } catch {
    return false;
  }
}
