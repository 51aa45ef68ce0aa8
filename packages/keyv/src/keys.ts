/**
 * Keyv keys are any strings; polykv keys are `/`-separated paths of non-empty segments that are not
 * `.` or `..` and hold no control characters. Each Keyv key therefore becomes one segment,
 * percent-encoded (`/`, `:`, `%` and control characters escaped, and `.` too so that `.`/`..`
 * cannot occur); the empty key is the lone `%`, which no encoding produces. A namespace is a
 * directory named `ns:<encoded namespace>`: the raw `:` keeps it apart from every encoded key.
 */
function segment(text: string): string {
  return text === '' ? '%' : encodeURIComponent(text).replace(/\./g, '%2E');
}

/** The directory of a namespace below the adapter's prefix. */
export function namespaceDir(prefix: string, namespace: string): string {
  return join(prefix, `ns:${segment(namespace)}`);
}

/** The polykv key of a Keyv key (which Keyv has already prefixed with `<namespace>:`). */
export function storeKey(prefix: string, namespace: string | undefined, key: string): string {
  if (namespace !== undefined && key.startsWith(`${namespace}:`)) {
    return join(namespaceDir(prefix, namespace), segment(key.slice(namespace.length + 1)));
  }
  return join(prefix, segment(key));
}

function join(prefix: string, name: string): string {
  return prefix === '' ? name : `${prefix}/${name}`;
}
