// Query strings carry tokens and personal data often enough that the audit log never keeps
// one, even when an event carries one by mistake.

/** A request path without its query string or fragment. */
export function stripQuery(path: string): string {
  const cut = path.search(/[?#]/);
  return cut < 0 ? path : path.slice(0, cut);
}

/** Removes `?query` from any path or URL inside free text (reasons, error lists). */
export function scrubQueries(text: string): string {
  // Most reasons carry no query at all: skip the regex (it runs once per audited request).
  if (!text.includes('?') && !text.includes('#')) return text;
  return text.replace(/(\S*\/[^\s?#]*)[?#]\S*/g, '$1');
}

/** Text safe for a one-line log: control characters (newlines included) become spaces. */
export function oneLine(text: string): string {
  // eslint-disable-next-line no-control-regex
  return text.replace(/[\u0000-\u001f\u007f\u2028\u2029]+/g, ' ');
}
