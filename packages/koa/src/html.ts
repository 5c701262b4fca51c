/** Markup that is already safe to send: the output of {@link html}, never text that came from a user. */
export class SafeHtml {
  /** @param value markup, escaped where it had to be */
  constructor(readonly value: string) {}

  toString(): string {
    return this.value;
  }
}

const ENTITIES: Readonly<Record<string, string>> = { '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', '\'': '&#39;' };

/** Text made safe for HTML element content and quoted attribute values: `& < > " '` become entities. */
export function escapeHtml(text: unknown): string {
  return String(text).replace(/[&<>"']/g, c => ENTITIES[c]!);
}

/**
 * A tagged template that escapes every interpolated value, except {@link SafeHtml} (nested templates);
 * arrays are joined, `null`, `undefined` and `false` render nothing. Attribute values must be quoted.
 * @example
 * html`<td>${tenant.tenantId}</td>` // '<td>&lt;b&gt;</td>' for the id '<b>'
 */
export function html(strings: TemplateStringsArray, ...values: unknown[]): SafeHtml {
  let out = strings[0]!;
  values.forEach((value, i) => {
    out += render(value) + strings[i + 1]!;
  });
  return new SafeHtml(out);
}

function render(value: unknown): string {
  if (value === null || value === undefined || value === false) {
    return '';
  }
  if (value instanceof SafeHtml) {
    return value.value;
  }
  if (Array.isArray(value)) {
    return value.map(render).join('');
  }
  return escapeHtml(value);
}
