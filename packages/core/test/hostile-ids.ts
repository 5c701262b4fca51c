/** Tenant ids that must never reach the file system as given. Shared by unit and integration tests. */
export const HOSTILE_IDS: unknown[] = [
  '', ' ', '.', '..', '../x', '..\\x', '/etc/passwd', 'C:\\Windows', 'a/b', 'a\\b',
  '%2e%2e%2fx', '%2e%2e/x', '..%2f..%2fx', '%252e%252e%252f', '..%c0%afx', '\u2024\u2024/x', '\uff0e\uff0e\uff0fx',
  'x\0y', '\0', 'a\nb', 'a\rb', 'a\tb', '\u001b[31m', '\u007f',
  '.hidden', '.git', '-rf', '_', 'a b', 'a:b', 'a*b', 'a?b', 'a"b', 'a<b', 'a>b', 'a|b', 'a.b', 'a..b',
  'Alice', 'ALICE', 'caf\u00e9', 'cafe\u0301', '\u0430lice', 'ｆｕｌｌ', '\u212a', 'ß', 'İ', '\u200balice', 'alice\u200d',
  'x'.repeat(65), 'x'.repeat(10_000),
  -1, 1.5, Number.NaN, Number.POSITIVE_INFINITY, 2 ** 60, null, undefined, {}, [], ['a'], true, Symbol('x'),
  { toString: () => '../x' },
];

/** Pairs of valid ids that a careless mapping (case folding, slugifying) would send to one file. */
export const LOOK_ALIKE_VALID_PAIRS: [string, string][] = [
  ['a-b', 'a_b'], ['a-b', 'ab'], ['a--b', 'a-b'], ['1', '01'], ['a1', 'a-1'], ['tenant', 'tenant_'],
];
