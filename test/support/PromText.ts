/** One metric family's samples in Prometheus text (`family{labels} value`), labels parsed. */
export const samples = (body: string, name: string) =>
  body
    .split("\n")
    .filter((line) => line.startsWith(`${name}{`) || line.startsWith(`${name} `))
    .map((line) => {
      const match = /^[^{ ]+(?:\{(.*)\})? (.+)$/.exec(line)!
      const labels = Object.fromEntries(
        [...(match[1] ?? "").matchAll(/(\w+)="((?:[^"\\]|\\.)*)"/g)].map((m) => [m[1], m[2]])
      )
      return { labels, value: Number(match[2]) }
    })
