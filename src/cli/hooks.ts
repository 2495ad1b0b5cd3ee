/**
 * After a command: `--on_success <command>` / `--on_failure <command>` (run by /bin/sh, output to
 * mo_br's stderr, stdout stays the command's) and `--webhook <url>` (a JSON POST), each told the
 * outcome (spec/cli.md "Nightly operations"):
 *
 *   MOBR_COMMAND, MOBR_STATUS (success | failure), MOBR_EXIT_CODE, MOBR_ERROR (the one-line
 *   message), MOBR_DURATION_SECONDS, MOBR_REPOSITORY, MOBR_SOURCE, MOBR_BACKUP_ID (the backup a
 *   single-backup command worked on), MOBR_SUMMARY (the whole outcome as JSON).
 *
 * No secret reaches a hook: the environment it inherits loses MO_BR_PASSWORD, the AWS_* keys and
 * any variable holding a secret value given on the command line, and every text is masked as
 * error lines are. A hook that fails (or takes over MO_BR_HOOK_TIMEOUT_MS, default 60 s) is one
 * warning line; the command's exit code stays its own.
 */
import { spawn } from 'node:child_process';
import { MobrError } from '../errors.js';
import type { RunOutcome } from './metrics.js';
import { maskSecrets } from '../util/mask.js';
import { PASSWORD_ENV } from './repo-password.js';

const SECRET_ENV = ['X', 'AWS_SECRET_ACCESS_KEY', 'AWS_ACCESS_KEY_ID', 'AWS_SESSION_TOKEN', ...PASSWORD_ENV];

interface Hooks {
  onSuccess?: string;
  onFailure?: string;
  webhook?: string;
}

/** The outcome as the hooks see it (JSON for MOBR_SUMMARY and the webhook's body). */
function outcomeDocument(o: RunOutcome): Record<string, unknown> {
  const s = o.summaries[0];
  return {
    schema: 'mobr.hook.v1',
    command: o.command,
    status: o.exitCode === 0 ? 'success' : 'failure',
    exitCode: o.exitCode,
    error: o.error ?? null,
    durationSeconds: Math.round(o.durationSeconds * 1000) / 1000,
    repository: s?.repository ?? o.repository,
    source: s?.source ?? o.source,
    backupId: s && /^[0-9a-f-]{36}$/.test(s.subject) ? s.subject : null,
    summaries: o.summaries.map((x) => ({ subject: x.subject, repository: x.repository ?? null, source: x.source ?? null, files: x.fileCount ?? null, damaged: x.damaged ?? null, bytes: Object.fromEntries(x.bytes.map((b) => [b.label, b.value])), durationSeconds: x.durationNs / 1e9 })),
  };
}

/** The environment of a hook command: the caller's without secrets, plus MOBR_*. */
function hookEnv(o: RunOutcome, secrets: readonly string[], base: NodeJS.ProcessEnv = process.env): NodeJS.ProcessEnv {
  const env: NodeJS.ProcessEnv = {};
  const secret = (v: string) => secrets.some((s) => s.length >= 3 && v.includes(s));
  for (const [k, v] of Object.entries(base)) if (v !== undefined && !SECRET_ENV.includes(k) && !k.startsWith('MOBR_') && !secret(v)) env[k] = v;
  const d = outcomeDocument(o);
  Object.assign(env, {
    MOBR_COMMAND: o.command,
    MOBR_STATUS: String(d.status),
    MOBR_EXIT_CODE: String(o.exitCode),
    MOBR_ERROR: o.error ?? '',
    MOBR_DURATION_SECONDS: String(d.durationSeconds),
    MOBR_REPOSITORY: String(d.repository),
    MOBR_SOURCE: String(d.source),
    MOBR_BACKUP_ID: d.backupId ?? '',
    MOBR_SUMMARY: JSON.stringify(d),
  });
  return env;
}

const timeoutMs = () => Number(process.env.MO_BR_HOOK_TIMEOUT_MS) || 60_000;

/** Runs `command` with /bin/sh; resolves to a problem text, or undefined when it exited 0. */
function runShell(command: string, env: NodeJS.ProcessEnv, stderr: { write(s: string): unknown }): Promise<string | undefined> {
  return new Promise((resolve) => {
    const child = spawn('/bin/sh', ['-c', command], { env, stdio: ['ignore', 'pipe', 'pipe'] });
    const pass = (b: Buffer) => void stderr.write(b.toString());
    child.stdout.on('data', pass);
    child.stderr.on('data', pass);
    const timer = setTimeout(() => child.kill('SIGKILL'), timeoutMs());
    child.on('error', (e) => (clearTimeout(timer), resolve(e.message)));
    child.on('close', (code, signal) => {
      clearTimeout(timer);
      resolve(code === 0 ? undefined : signal ? `killed by ${signal}${signal === 'SIGKILL' ? ` (over ${timeoutMs()} ms)` : ''}` : `exit ${code}`);
    });
  });
}

async function post(url: string, body: Record<string, unknown>): Promise<string | undefined> {
  try {
    const r = await fetch(url, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(body), signal: AbortSignal.timeout(timeoutMs()) });
    await r.arrayBuffer();
    return r.ok ? undefined : `HTTP ${r.status}`;
  } catch (e) {
    return ((e as Error).cause as Error | undefined)?.message ?? (e as Error).message;
  }
}

/** A webhook URL checked before the command runs; the URL is never printed (it may hold a token). */
export function checkWebhook(url: string | undefined): void {
  if (url === undefined) return;
  let u: URL;
  try {
    u = new URL(url);
  } catch {
    throw new MobrError('BAD_INPUT', 'bad --webhook: not a URL (like https://alerts.example.com/hook)');
  }
  if (u.protocol !== 'http:' && u.protocol !== 'https:') throw new MobrError('BAD_INPUT', `bad --webhook: want http or https, not ${u.protocol.replace(':', '')}`);
}

/** Runs the hooks the outcome calls for; a hook's failure is a warning line. */
export async function runHooks(h: Hooks, o: RunOutcome, secrets: readonly string[], stderr: { write(s: string): unknown }): Promise<void> {
  const mask = (s: string) => maskSecrets(s, secrets);
  const cmd = o.exitCode === 0 ? h.onSuccess : h.onFailure;
  if (cmd) {
    const problem = await runShell(cmd, hookEnv(o, secrets), stderr);
    if (problem) stderr.write(`mo_br: warning: the ${o.exitCode === 0 ? '--on_success' : '--on_failure'} command failed (${mask(problem)})\n`);
  }
  if (h.webhook) {
    const problem = await post(h.webhook, outcomeDocument(o));
    if (problem) stderr.write(`mo_br: warning: the --webhook POST failed (${mask(problem)})\n`);
  }
}
