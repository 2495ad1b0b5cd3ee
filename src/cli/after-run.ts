/**
 * What a command's run leaves for the nightly tooling (global flags --metrics_file, --on_success,
 * --on_failure, --webhook): checked before the command runs, carried out after it (metrics.ts,
 * hooks.ts). A metrics file that cannot be written is one warning line, as a failing hook is.
 */
import type { GlobalFlags } from './argv.js';
import { messageFor } from './exit.js';
import { checkWebhook, runHooks } from './hooks.js';
import { checkMetricsPath, flagLabels, writeMetrics } from './metrics.js';
import type { Summary } from './summary.js';

export class AfterRun {
  readonly summaries: Summary[] = [];
  private opts: Record<string, unknown> = {};
  private metricsFile?: string;
  private ran = false;
  private metaFile = '';

  constructor(
    private readonly globals: GlobalFlags,
    private readonly command: string | undefined,
    private readonly startedMs: number,
    /** performance.now() at the start: the duration is monotonic (a clock jump does not bend it). */
    private readonly startedMono: number,
  ) {}

  private get wanted(): boolean {
    const g = this.globals;
    return !!(g.metrics_file || g.on_success || g.on_failure || g.webhook);
  }

  /** Before the command: its flags (for labels) and the checks of the targets (bad input fails here). */
  async before(opts: unknown, metaFile: string): Promise<void> {
    this.ran = true;
    this.opts = typeof opts === 'object' && opts !== null ? (opts as Record<string, unknown>) : {};
    if (this.globals.metrics_file !== undefined) this.metricsFile = checkMetricsPath(this.globals.metrics_file, metaFile);
    this.metaFile = metaFile;
    checkWebhook(this.globals.webhook);
  }

  /** After the command (its exit code, and its failure if any). */
  async after(code: number, failure: unknown, secrets: readonly string[], stderr: { write(s: string): unknown }): Promise<void> {
    if (!this.wanted || !this.ran || this.command === undefined) return;
    if (this.globals.metrics_file !== undefined && this.metricsFile === undefined) return; // its own check failed
    const outcome = {
      command: this.command,
      exitCode: code,
      error: failure === undefined ? undefined : messageFor(failure, secrets),
      startedMs: this.startedMs,
      durationSeconds: (performance.now() - this.startedMono) / 1000,
      summaries: this.summaries,
      ...flagLabels(this.opts),
    };
    if (this.metricsFile) {
      await writeMetrics(this.metricsFile, outcome, this.metaFile).catch((e: unknown) => stderr.write(`mo_br: warning: --metrics_file ${this.metricsFile} not written: ${messageFor(e, secrets)}\n`));
    }
    await runHooks({ onSuccess: this.globals.on_success, onFailure: this.globals.on_failure, webhook: this.globals.webhook }, outcome, secrets, stderr);
  }
}
