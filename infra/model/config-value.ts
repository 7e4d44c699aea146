// How the Pulumi engine hands a top-level config value to a program: as the text Pulumi stored.
// `pulumi config set dolibarr-backup:maxConcurrentDumps 4` writes the string "4" into the stack
// file, and structured values (`--path`, objects) come as JSON text. Both readers of a stack's
// config (the program through the engine, the offline check from the YAML file) take a top-level
// value through this function, so they see the same values.

/** JSON-looking text (object, array, number, boolean, null) parsed; any other text kept as is. */
export function parseConfigValue(text: string): unknown {
  const t = text.trim();
  if (/^[[{]/.test(t) || /^(true|false|null)$/.test(t) || /^-?\d+(\.\d+)?([eE][+-]?\d+)?$/.test(t)) {
    try {
      return JSON.parse(t);
    } catch {
      return text;
    }
  }
  return text;
}
