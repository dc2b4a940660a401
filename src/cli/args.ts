// Command-line parsing on node:util parseArgs: `--name value`, `--name=value`, `-k value`, boolean flags; global
// flags may stand before or after the command; an option the command does not take is a usage error.
import { PolymodalError } from "../util/errors.js";
import { parseArgs, type ParseArgsConfig } from "node:util";

export class UsageError extends PolymodalError {
  constructor(message: string) {
    super("usage", message);
  }
}

export type OptionSpec = NonNullable<ParseArgsConfig["options"]>;
export type Values = Record<string, string | boolean | undefined>;

export interface CommandLine {
  /** the first positional argument ("" when there is none) */
  command: string;
  positional: string[];
  values: Values;
  /** every option name given, as typed (for "unknown option" checks against one command's options) */
  given: Array<{ name: string; raw: string }>;
}

/**
 * Parses argv once against the union of every command's options (so a flag's value is never mistaken for the
 * command), then the caller checks `given` against the chosen command.
 */
export function parseCommandLine(argv: string[], options: OptionSpec): CommandLine {
  const parse = () => parseArgs({ args: argv, options, allowPositionals: true, strict: true, tokens: true });
  let parsed: ReturnType<typeof parse>;
  try {
    parsed = parse();
  } catch (e) {
    const err = e as Error & { code?: string };
    const m = /Unknown option '([^']+)'/.exec(err.message);
    if (m) throw new UsageError(`unknown option ${m[1]}`);
    throw new UsageError(err.message.split("\n")[0]);
  }
  const given = parsed.tokens.flatMap((t) => (t.kind === "option" ? [{ name: t.name, raw: t.rawName }] : []));
  const [command = "", ...positional] = parsed.positionals;
  return { command, positional, values: parsed.values as Values, given };
}

/** Throws a UsageError for an option given that `allowed` does not list. */
export function checkAllowed(cl: CommandLine, allowed: OptionSpec, where: string): void {
  for (const g of cl.given) {
    if (!(g.name in allowed)) {
      const names = Object.keys(allowed)
        .map((k) => `--${k}`)
        .join(" ");
      throw new UsageError(`unknown option ${g.raw} for ${where}; options here: ${names}`);
    }
  }
}

export function intFlag(values: Values, name: string, def: number, min = 1, max = Number.MAX_SAFE_INTEGER): number {
  const v = values[name];
  if (v === undefined) return def;
  const n = Number(v);
  if (typeof v !== "string" || !/^\s*-?\d+\s*$/.test(v) || !Number.isInteger(n) || n < min || n > max) {
    throw new UsageError(
      `--${name} must be an integer from ${min}${max < Number.MAX_SAFE_INTEGER ? ` to ${max}` : " up"}, ` +
        `got ${JSON.stringify(v)}`,
    );
  }
  return n;
}
