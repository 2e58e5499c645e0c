// eslint-disable-next-line no-control-regex
const CONTROL_CHARACTER = /[\u0000-\u001f\u007f]/;

/**
 * True when `text` holds a C0 control character or DEL. A branch name is shown on
 * pages, in terminals and in log lines; one with a newline or an escape sequence
 * would forge or garble them, so the CLI refuses it and the registry ignores it.
 */
export function hasControlCharacter(text: string): boolean {
  return CONTROL_CHARACTER.test(text);
}
