// Crash points for fault tests: `IMAGETRUST_FAILPOINTS=upload-blob-committed` makes the process kill
// itself with SIGKILL the first time it reaches that point, so a test can crash it exactly between two
// writes. Unset (always, outside tests), no point does anything.

export function failpointsFromEnvironment(
  value = process.env.IMAGETRUST_FAILPOINTS,
): ((name: string) => void) | undefined {
  const armed = new Set(
    (value ?? '')
      .split(',')
      .map((name) => name.trim())
      .filter(Boolean),
  );
  if (armed.size === 0) return undefined;
  return (name) => {
    if (armed.has(name)) process.kill(process.pid, 'SIGKILL');
  };
}
