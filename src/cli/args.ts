// Flag parsing for the CLI: --name value, --name=value, -k value, and boolean flags; unknown flags are errors.
export class UsageError extends Error {
  readonly exitCode = 2;
}

export interface Parsed {
  positional: string[];
  flags: Record<string, string | boolean>;
}

/** spec: flag name -> "string" | "boolean"; aliases: short -> long */
export function parseArgs(argv: string[], spec: Record<string, "string" | "boolean">, aliases: Record<string, string> = {}): Parsed {
  const positional: string[] = [], flags: Record<string, string | boolean> = {};
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i];
    if (a === "--") { positional.push(...argv.slice(i + 1)); break; }
    if (!a.startsWith("-") || a === "-") { positional.push(a); continue; }
    let name = a.replace(/^--?/, ""), value: string | undefined;
    const eq = name.indexOf("=");
    if (eq >= 0) { value = name.slice(eq + 1); name = name.slice(0, eq); }
    name = aliases[name] ?? name;
    const type = spec[name];
    if (!type) throw new UsageError(`unknown option ${a.split("=")[0]}; options here: ${Object.keys(spec).map((k) => `--${k}`).join(" ") || "none"}`);
    if (type === "boolean") {
      if (value !== undefined) throw new UsageError(`--${name} takes no value`);
      flags[name] = true;
    } else {
      if (value === undefined) {
        if (i + 1 >= argv.length) throw new UsageError(`--${name} needs a value`);
        value = argv[++i];
      }
      flags[name] = value;
    }
  }
  return { positional, flags };
}

export function intFlag(flags: Record<string, string | boolean>, name: string, def: number, min = 1): number {
  const v = flags[name];
  if (v === undefined) return def;
  const n = Number(v);
  if (!Number.isInteger(n) || n < min) throw new UsageError(`--${name} must be an integer >= ${min}, got ${JSON.stringify(v)}`);
  return n;
}
