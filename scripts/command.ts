// How the project's scripts run as commands: a UsageError prints the usage and exits 2, any other
// error its stack (exit 2), otherwise the script's own exit code.

/** A usage problem the script reports with its usage text (exit 2). */
export class UsageError extends Error {}

/** `main`'s exit code; a UsageError is printed as `name: message` with the usage text, and gives 2. */
export async function withUsage(name: string, usageText: string, main: () => Promise<number>): Promise<number> {
  try {
    return await main();
  } catch (e) {
    if (!(e instanceof UsageError)) throw e;
    process.stderr.write(`${name}: ${e.message}\n${usageText}\n`);
    return 2;
  }
}

/** Runs `main` on the command line's arguments and exits with its code. */
export function runCommand(name: string, main: (argv: readonly string[]) => Promise<number>): void {
  main(process.argv.slice(2)).then(
    (code) => process.exit(code),
    (err: unknown) => {
      process.stderr.write(`${name}: ${(err as Error).stack ?? err}\n`);
      process.exit(2);
    },
  );
}
