/** What a command may touch of its process: injected so commands are testable without a terminal. */
export interface CliIo {
  /** Writes to stdout. With --json, a command writes exactly one JSON object here and nothing else. */
  out(text: string): void;
  /** Writes to stderr: progress, live views, diagnostics. */
  err(text: string): void;
  readonly stdoutIsTTY: boolean;
  readonly stderrIsTTY: boolean;
  /** Terminal width for live views. */
  readonly columns: number;
  setExitCode(code: number): void;
  /** Resolves when the user asks to stop (Ctrl-C or SIGTERM). */
  interrupted(): Promise<void>;
}

export function processIo(): CliIo {
  return {
    out: (text) => void process.stdout.write(text),
    err: (text) => void process.stderr.write(text),
    stdoutIsTTY: process.stdout.isTTY === true,
    stderrIsTTY: process.stderr.isTTY === true,
    get columns() {
      return process.stderr.columns ?? 100;
    },
    setExitCode: (code) => {
      process.exitCode = code;
    },
    interrupted: () =>
      new Promise<void>((resolve) => {
        const stop = (): void => {
          process.off('SIGINT', stop);
          process.off('SIGTERM', stop);
          resolve();
        };
        process.on('SIGINT', stop);
        process.on('SIGTERM', stop);
      }),
  };
}
