// workerd logs an exception thrown by a JS RPC method as uncaught in the callee even when the caller
// catches it, and the Workers pool prints workerd's logs straight to stdout (onConsoleLog never sees
// them). The fake Workers AI throws its scripted failures from maybeFail (test/fake-ai/worker.ts) on
// purpose and the tests assert on what the session makes of them, so those lines only are dropped;
// any other uncaught exception still prints.

/** A scripted failure's log: the exception was thrown by the fake's maybeFail. */
export const SCRIPTED_FAILURE_LOG = /^uncaught exception; [^\n]*\n\s*at maybeFail \(file:[^\n]*fake-ai\.js:/;

const INSTALLED = Symbol.for("parley.scriptedFailureLogsDropped");

/** Drop scripted-failure logs from this process's stdout (once, however often the config loads). */
export function dropScriptedFailureLogs(): void {
  const stdout = process.stdout as typeof process.stdout & { [INSTALLED]?: true };
  if (stdout[INSTALLED]) return;
  stdout[INSTALLED] = true;
  const write = stdout.write.bind(stdout) as (chunk: unknown, ...rest: unknown[]) => boolean;
  stdout.write = ((chunk: unknown, ...rest: unknown[]) => {
    if (typeof chunk !== "string" || !SCRIPTED_FAILURE_LOG.test(chunk)) return write(chunk, ...rest);
    const done = rest.find((r): r is () => void => typeof r === "function");
    done?.();
    return true;
  }) as typeof stdout.write;
}
