/**
 * A connection URL as it may be shown: the password, if any, replaced by
 * `***` (`postgres://user:***@host/db`). Every message that names a database
 * goes through this, because reflow.yaml URLs usually come from secrets.
 */
export function redactUrl(url: string): string {
  return url.replace(/^([a-z][a-z0-9+.-]*:\/\/[^:/@?#]*):[^@/?#]*@/i, "$1:***@");
}

/**
 * `text` with the password of `url` replaced by `***` wherever it occurs (a
 * driver error may quote the URL, or the password alone), and the URL redacted.
 */
export function redactSecrets(text: string, url: string): string {
  let redacted = text.split(url).join(redactUrl(url));
  const password = passwordOf(url);
  if (password) {
    redacted = redacted.split(password).join("***");
    const decoded = safeDecode(password);
    if (decoded && decoded !== password) redacted = redacted.split(decoded).join("***");
  }
  return redacted;
}

function passwordOf(url: string): string | undefined {
  const match = /^[a-z][a-z0-9+.-]*:\/\/[^:/@?#]*:([^@/?#]*)@/i.exec(url);
  return match?.[1] || undefined;
}

function safeDecode(text: string): string | undefined {
  try {
    return decodeURIComponent(text);
  } catch {
    return undefined;
  }
}
