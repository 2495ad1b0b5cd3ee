/**
 * Masking known secrets (passwords, S3 keys) in any text mobr prints or logs (spec/reliability.md
 * §5, §9). A secret is masked where it stands as a value of its own: bounded on each side by the
 * text's start or end, white space, a quote, `=`, `,`, `;` or a bracket (`--password 111`,
 * `password=111`, `"key":"111"`, `for key 111`). Never inside a longer word, host:port, path or
 * URL: a short secret masked there would show itself (`127.0.0.1:46***` gives away `111`;
 * masking the bucket in `s3://bucket1/x` gives away an access key ID equal to the bucket's name).
 * Secrets of 1-2 characters are not masked (they would mangle every message and are not worth
 * hiding from it).
 */
const EDGE = `\\s"'=,;()\\[\\]{}<>`;

export function maskSecrets(text: string, secrets: readonly string[]): string {
  let out = text;
  for (const s of secrets) {
    if (s.length < 3) continue;
    const value = s.replace(/[.*+?^${}()|[\]\\/-]/g, '\\$&');
    out = out.replace(new RegExp(`(^|[${EDGE}])${value}(?=$|[${EDGE}])`, 'g'), (_m, before: string) => `${before}***`);
  }
  return out;
}
