// Output: the console table, and the SVG chart of the ratios against their targets.

/**
 * A ratio entry, as stored in latest.json and drawn in latest.svg:
 * { id, label, kind: "ratio" | "mib" | "count", value, target?: { op: ">=" | ">" | "<=" | "<", value },
 *   server?, baseline?, unit?, spread?: [min, max], note? }
 */
export const passes = (entry) => {
  if (entry.target === undefined || entry.value === undefined) return undefined
  const { op, value } = entry.target
  if (op === ">=") return entry.value >= value
  if (op === "<=") return entry.value <= value
  if (op === ">") return entry.value > value
  return entry.value < value
}

const fmt = (value, digits = 2) => {
  if (value === undefined || value === null || Number.isNaN(value)) return "—"
  if (Math.abs(value) >= 1000) return Math.round(value).toLocaleString("en-US")
  if (Math.abs(value) >= 100) return value.toFixed(0)
  if (Math.abs(value) >= 10) return value.toFixed(1)
  return value.toFixed(digits)
}

const targetText = (target) => (target ? `${target.op} ${target.value}` : "info")

const verdict = (entry) => {
  const pass = passes(entry)
  if (entry.note && entry.value === undefined) return "FAIL"
  return pass === undefined ? "" : pass ? "ok" : "MISS"
}

const pad = (text, width, right = false) => {
  const s = String(text)
  return right ? s.padStart(width) : s.padEnd(width)
}

export const table = (headers, rows, rightAligned = []) => {
  const widths = headers.map((h, i) => Math.max(h.length, ...rows.map((r) => String(r[i]).length)))
  const line = (cells) => cells.map((c, i) => pad(c, widths[i], rightAligned.includes(i))).join("  ")
  return [line(headers), widths.map((w) => "-".repeat(w)).join("  "), ...rows.map(line)].join("\n")
}

export const ratioTable = (entries) =>
  table(
    ["metric", "server", "baseline", "unit", "ratio", "target", "per-round range", ""],
    entries.map((e) => [
      e.label,
      e.kind === "count" ? fmt(e.server, 0) : fmt(e.server),
      e.kind === "count" ? fmt(e.baseline, 0) : fmt(e.baseline),
      e.unit ?? "",
      e.kind === "ratio" ? fmt(e.value) : fmt(e.value, 0),
      targetText(e.target),
      e.spread ? `${fmt(e.spread[0])} … ${fmt(e.spread[1])}` : "",
      e.note && e.value === undefined ? `FAIL: ${e.note}` : verdict(e)
    ]),
    [1, 2, 4]
  )

const escapeXml = (text) =>
  String(text).replace(/[<>&"]/g, (c) => ({ "<": "&lt;", ">": "&gt;", "&": "&amp;", '"': "&quot;" })[c])

const glyph = { ">=": "≥", ">": ">", "<=": "≤", "<": "<" }

/**
 * A hand-written SVG: one horizontal bar per entry, scaled so that each entry's target sits at the
 * same x (target = 1 unit; an entry without a target is drawn against parity, 1×), which keeps "≥"
 * and "≤" targets readable on one axis. Green meets the target, red misses it, grey has no target;
 * a thin black whisker spans the per-round range; a failed case is a red note instead of a bar.
 * Error counts are not bars: one line at the bottom sums them.
 */
export const chartSvg = ({ title, subtitle, entries }) => {
  const bars = entries.filter((e) => e.kind !== "count")
  const counts = entries.filter((e) => e.kind === "count")
  const rowHeight = 24
  const labelWidth = 300
  const barWidth = 420
  const axisMax = 3 // in target units
  const top = 78
  const width = labelWidth + barWidth + 170
  const axisY = top + bars.length * rowHeight + 4
  const height = axisY + 64
  const x = (units) => labelWidth + (Math.max(0, Math.min(units, axisMax)) / axisMax) * barWidth
  const legend = [
    ["#27ae60", "meets target"],
    ["#c0392b", "misses target"],
    ["#95a5a6", "no target (vs 1×)"]
  ]
  const parts = [
    `<svg xmlns="http://www.w3.org/2000/svg" width="${width}" height="${height}" font-family="sans-serif" font-size="12">`,
    `<rect width="100%" height="100%" fill="white"/>`,
    `<text x="10" y="22" font-size="15" font-weight="bold">${escapeXml(title)}</text>`,
    `<text x="10" y="42" fill="#555">${escapeXml(subtitle)}</text>`,
    ...legend.flatMap(([color, text], i) => [
      `<rect x="${10 + i * 170}" y="54" width="12" height="12" fill="${color}"/>`,
      `<text x="${28 + i * 170}" y="64" fill="#333">${escapeXml(text)}</text>`
    ]),
    `<line x1="${x(1)}" y1="${top - 4}" x2="${x(1)}" y2="${axisY}" stroke="#333" stroke-dasharray="4 3"/>`,
    `<line x1="${x(0)}" y1="${axisY}" x2="${x(axisMax)}" y2="${axisY}" stroke="#999"/>`,
    ...[0, 1, 2, 3].map(
      (u) =>
        `<text x="${x(u)}" y="${axisY + 14}" text-anchor="middle" fill="#555">${["0", "target", "2× target", "3×"][u]}</text>`
    )
  ]
  bars.forEach((entry, i) => {
    const y = top + i * rowHeight
    parts.push(`<text x="${labelWidth - 8}" y="${y + 15}" text-anchor="end">${escapeXml(entry.label)}</text>`)
    if (entry.value === undefined) {
      parts.push(
        `<text x="${x(0) + 4}" y="${y + 15}" fill="#c0392b">${escapeXml(`failed: ${entry.note ?? "no figure"}`.slice(0, 80))}</text>`
      )
      return
    }
    const unit = entry.target?.value || 1
    const units = entry.value / unit
    const pass = passes(entry)
    const color = pass === undefined ? "#95a5a6" : pass ? "#27ae60" : "#c0392b"
    const valueText = entry.kind === "mib" ? `${fmt(entry.value, 0)} MiB` : `${fmt(entry.value)}×`
    const label = `${valueText}${entry.target ? ` (${glyph[entry.target.op]} ${entry.target.value})` : ""}`
    parts.push(
      `<rect x="${x(0)}" y="${y + 4}" width="${Math.max(1, x(units) - x(0))}" height="${rowHeight - 8}" fill="${color}"/>`
    )
    if (entry.spread) {
      const [low, high] = entry.spread.map((v) => x(v / unit))
      parts.push(
        `<line x1="${low}" y1="${y + 12}" x2="${high}" y2="${y + 12}" stroke="#222" stroke-width="1.5"/>`,
        `<line x1="${low}" y1="${y + 8}" x2="${low}" y2="${y + 16}" stroke="#222"/>`,
        `<line x1="${high}" y1="${y + 8}" x2="${high}" y2="${y + 16}" stroke="#222"/>`
      )
    }
    const textX = Math.max(x(units), entry.spread ? x(entry.spread[1] / unit) : 0) + 6
    parts.push(`<text x="${textX}" y="${y + 15}">${escapeXml(label)}${units > axisMax ? " ▸" : ""}</text>`)
  })
  const serverErrors = counts.reduce((n, e) => n + (e.server ?? 0), 0)
  const baselineErrors = counts.reduce((n, e) => n + (e.baseline ?? 0), 0)
  const countsMissed = counts.some((e) => passes(e) === false)
  parts.push(
    `<text x="10" y="${axisY + 40}" fill="${countsMissed ? "#c0392b" : "#27ae60"}">${escapeXml(
      `errors and non-2xx answers in measured runs: server ${serverErrors}, baseline ${baselineErrors}` +
        (countsMissed
          ? ` (missed: ${counts
              .filter((e) => passes(e) === false)
              .map((e) => e.label)
              .join(", ")})`
          : "")
    )}</text>`,
    "</svg>"
  )
  return `${parts.join("\n")}\n`
}
