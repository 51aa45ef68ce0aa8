import { ConsulError } from './errors.js';

/** An agent's address as an origin (`http://host:port`); a bare `host:port` gets the client's scheme. */
export function normalizeAgent(address: string, secure: boolean): string {
  if (typeof address !== 'string') {
    throw new ConsulError(
      'CONSUL_INVALID_ARGUMENT',
      `a Consul agent address must be a string, got ${typeof address}`,
    );
  }
  const withScheme = /^https?:\/\//i.test(address) ? address : `${secure ? 'https' : 'http'}://${address}`;
  let url: URL;
  try {
    url = new URL(withScheme);
  } catch (cause) {
    throw new ConsulError(
      'CONSUL_INVALID_ARGUMENT',
      `not a Consul agent address: ${JSON.stringify(address)}`,
      { cause },
    );
  }
  if (url.pathname !== '/' || url.search !== '' || url.username !== '') {
    throw new ConsulError(
      'CONSUL_INVALID_ARGUMENT',
      `a Consul agent address is scheme://host:port only, got ${url.origin}${url.pathname}`,
    );
  }
  return url.origin;
}
