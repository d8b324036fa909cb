// Pure functions over the draft: which findings still stand after an edit, and how they paint.
// They run inside `prompt.edit`'s 50 ms budget on every key, so they only look at strings in
// memory: linear in the draft, no `$` call, no network.

import type { PromptDecoration } from 'claude-code'

import type { PromptlintFinding, PromptlintReport } from '../types'

/** A finding's span moved onto `text`, or dropped when the edit touched it. */
export function carry(report: PromptlintReport, text: string): PromptlintFinding[] {
  const before = report.text
  if (before === text) return report.findings
  let prefix = 0
  const shortest = Math.min(before.length, text.length)
  while (prefix < shortest && before.charCodeAt(prefix) === text.charCodeAt(prefix)) prefix++
  let suffix = 0
  while (
    suffix < shortest - prefix &&
    before.charCodeAt(before.length - 1 - suffix) === text.charCodeAt(text.length - 1 - suffix)
  ) suffix++
  const delta = text.length - before.length
  const out: PromptlintFinding[] = []
  for (const finding of report.findings) {
    if (finding.end <= prefix) out.push(finding)
    else if (finding.start >= before.length - suffix) out.push({ ...finding, start: finding.start + delta, end: finding.end + delta })
    // a finding the edit went into is stale until the server says again
  }
  return out
}

const COLORS = { error: 'text-danger', warning: 'text-warning', info: 'text-muted' } as const

/** Underlines for the prompt box: warnings and errors, never info (a linter that cries wolf...). */
export function decorationsFor(findings: readonly PromptlintFinding[], textLength: number): PromptDecoration[] {
  const out: PromptDecoration[] = []
  for (const f of findings) {
    if (f.severity === 'info') continue
    const start = Math.max(0, Math.min(f.start, textLength))
    const end = Math.max(start, Math.min(f.end, textLength))
    if (end > start) out.push({ start, end, underline: true, color: COLORS[f.severity] })
  }
  return out
}

/** The `<...>` parts of a rewrite, the ones the person fills in. */
export function placeholders(text: string): PromptDecoration[] {
  const out: PromptDecoration[] = []
  const pattern = /<[^<>\n]{1,200}>/g
  let m: RegExpExecArray | null
  while ((m = pattern.exec(text)) !== null) {
    out.push({ start: m.index, end: m.index + m[0].length, color: 'text-warning', bold: true })
  }
  return out
}

/** The band's one line: the first note and how many more, the count before the message so that a
 * narrow terminal, which cuts the line's end, still shows it. */
export function headline(findings: readonly PromptlintFinding[]): string {
  const shown = findings.filter(f => f.severity !== 'info')
  if (shown.length === 0) return ''
  const first = shown[0]!
  const more = shown.length > 1 ? ` (+${shown.length - 1} more)` : ''
  return `${first.code}${more} ${first.message}`
}

/** Prompts promptlint leaves alone: slash commands, memory notes, the opt-out prefix, blanks. */
export function isLintable(text: string): boolean {
  const t = text.trimStart()
  return t.length > 0 && !t.startsWith('/') && !t.startsWith('#') && !t.startsWith('nolint:')
}
