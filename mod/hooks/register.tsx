// promptlint in Claude Code's prompt box, over the warm `promptlint server`.
//
// - prompt.edit (50 ms budget, every key): paints the last findings the server gave for this
//   draft, carried across the edit; never waits on the network. A debounced timer asks the
//   server afterwards and repaints with `$.prompt.paint`.
// - AbovePrompt: the first finding, and an "Apply rewrite" button that replaces the draft with
//   promptlint's explicit version only when pressed (its <...> parts highlighted to fill in).
// - prompt.submit: adds the repository's facts as context for Claude, never shown, never
//   changing the prompt.
// Everything fails open: no engine, no server, a slow answer or an error leaves the prompt box
// and the prompt exactly as the person made them.

import { atom, read, update } from 'claude-code'
import type { EngineInterface, Register } from 'claude-code'

import type { PromptlintReport } from '../types'
import { carry, decorationsFor, headline, isLintable, placeholders } from './spans'

const report = atom({ plugin: 'promptlint-mod', key: 'report' } as const, null)

const DEBOUNCE_MS = 300
const SUBMIT_WAIT_MS = 1500
const RETRY_CONNECT_MS = 30_000
const CACHE_SIZE = 16
const PENDING_TRIES = 10
const PENDING_PAUSE_MS = 1000

type Endpoint = { url: string; secret: string }
type Lint = {
  findings: PromptlintReport['findings']
  rewrite: string | null
  context: string | null
  pending?: boolean
}

type State = {
  engine: string
  addContext: boolean
  cwd: string
  endpoint: Endpoint | null
  connecting: Promise<Endpoint | null> | null
  lastAttempt: number
  toldMissing: boolean
  generation: number
  timer: { cancel: () => void } | null
  armedAt: number // the edit the timer was armed (or re-armed) after
  draft: string // the box as the last edit left it
  latest: PromptlintReport | null // the newest answer, for painting between keys
  cache: Map<string, Lint>
}

function remember(s: State, text: string, answer: Lint): void {
  s.cache.delete(text)
  s.cache.set(text, answer)
  while (s.cache.size > CACHE_SIZE) s.cache.delete(s.cache.keys().next().value as string)
}

async function findServer($: EngineInterface, s: State): Promise<Endpoint | null> {
  try {
    const run = await $.process.run([s.engine, 'hook', 'mod-endpoint'], { timeoutMs: 15_000 })
    const said = JSON.parse(run.stdout || '{}') as { url?: string; secretFile?: string; error?: string }
    if (run.exitCode !== 0 || !said.url || !said.secretFile) {
      $.ui.log(`promptlint-mod: no server (${said.error ?? run.stderr.trim().slice(0, 200)})`, { to: 'debug' })
      return null
    }
    const secret = (await $.fs.read(said.secretFile)).trim()
    s.endpoint = { url: said.url, secret }
    return s.endpoint
  } catch (err) {
    if (!s.toldMissing) {
      s.toldMissing = true
      $.ui.toast(`promptlint-mod: cannot run "${s.engine}" (pipx install haiku-promptlint, or set the engine option)`)
    }
    $.ui.log(`promptlint-mod: ${String(err).slice(0, 200)}`, { to: 'debug' })
    return null
  }
}

async function attempt($: EngineInterface, s: State): Promise<Endpoint | null> {
  try {
    const now = await $.clock.now()
    if (now - s.lastAttempt < RETRY_CONNECT_MS) return null // a failed start: do not retry on every key
    s.lastAttempt = now
    return await findServer($, s)
  } finally {
    s.connecting = null
  }
}

// One attempt at a time, claimed before any await: every caller shares it.
async function connect($: EngineInterface, s: State): Promise<Endpoint | null> {
  if (s.endpoint) return s.endpoint
  if (!s.connecting) s.connecting = attempt($, s)
  return s.connecting
}

async function lint($: EngineInterface, s: State, text: string, deadline: number): Promise<Lint | null> {
  const cached = s.cache.get(text)
  if (cached && !cached.pending) return cached
  const where = await connect($, s)
  if (!where) return null
  try {
    const res = await $.http.fetch(`${where.url}/lint`, {
      method: 'POST',
      headers: { 'Content-Type': 'application/json', 'X-Promptlint-Secret': where.secret },
      body: JSON.stringify({ prompt: text, cwd: s.cwd, deadline }),
    })
    if (res.status === 401 || res.status === 421) s.endpoint = null // a restarted server: find it again
    if (!res.ok) return null
    const answer = JSON.parse(res.text) as Lint
    if (!Array.isArray(answer.findings)) return null
    if (!answer.pending) remember(s, text, answer)
    return answer
  } catch {
    s.endpoint = null
    return null
  }
}

async function refresh($: EngineInterface, s: State, text: string, mine: number): Promise<void> {
  let answer = await lint($, s, text, 2)
  // The index is still being built (a big repository's first prompt): ask again while the draft stands.
  for (let tries = 0; answer?.pending && mine === s.generation && tries < PENDING_TRIES; tries++) {
    await $.clock.sleep(PENDING_PAUSE_MS)
    answer = await lint($, s, text, 2)
  }
  if (mine !== s.generation || !answer || answer.pending) return
  const fresh: PromptlintReport = { text, findings: answer.findings, rewrite: answer.rewrite }
  s.latest = fresh
  await $.prompt.paint({ text, decorations: decorationsFor(answer.findings, text.length) })
  await update($, report, () => (headline(fresh.findings) ? fresh : null))
}

// Warm the server while the person types the first prompt, and check what they typed before the
// module loaded (no prompt.edit reached us for those keys).
async function startup($: EngineInterface, s: State): Promise<void> {
  try {
    await connect($, s)
    const box = await $.prompt.read()
    if (isLintable(box.text) && s.generation === 0) await refresh($, s, box.text, s.generation)
  } catch {
    // no box (a -p run), or the session ended: nothing to do
  }
}

// The debounce: typing went on since the timer was armed, so wait again; else lint the draft.
function quiet($: EngineInterface, s: State): void {
  if (s.generation !== s.armedAt) {
    s.armedAt = s.generation
    s.timer = $.clock.after(DEBOUNCE_MS, () => void quiet($, s))
    return
  }
  s.timer = null
  if (isLintable(s.draft)) void refresh($, s, s.draft, s.generation).catch(() => undefined)
}

async function contextFor($: EngineInterface, s: State, text: string): Promise<string | null> {
  const answer = await Promise.race([
    lint($, s, text, SUBMIT_WAIT_MS / 1000),
    $.clock.sleep(SUBMIT_WAIT_MS + 500).then(() => null),
  ])
  return answer?.context ?? null
}

async function applyRewrite($: EngineInterface, shown: PromptlintReport): Promise<void> {
  const box = await $.prompt.read()
  if (box.text !== shown.text && box.text !== '') {
    $.ui.toast('promptlint: the prompt changed since it was checked; wait a moment and press again')
    return
  }
  const rewrite = shown.rewrite as string
  await $.prompt.fill({ text: rewrite, mode: 'replace', decorations: placeholders(rewrite) })
  await update($, report, () => null)
}

export const register: Register = (on, options) => {
  const s: State = {
    engine: typeof options.engine === 'string' && options.engine.trim() !== '' ? options.engine.trim() : 'promptlint',
    addContext: options.context !== false,
    cwd: '',
    endpoint: null,
    connecting: null,
    lastAttempt: -Infinity,
    toldMissing: false,
    generation: 0,
    timer: null,
    armedAt: 0,
    draft: '',
    latest: null,
    cache: new Map(),
  }

  on('session.start', async ($, e, next) => {
    s.cwd = e.cwd
    const started = await next(e)
    void startup($, s)
    return started
  })

  on('prompt.edit', async ($, e, next) => {
    const box = await next(e)
    s.generation += 1
    s.draft = box.text
    if (!isLintable(box.text)) {
      if (s.latest !== null) {
        s.latest = null
        void update($, report, () => null)
      }
      return box
    }
    // One timer per quiet spell, not one per key: each `$` call is a hop out of the worker.
    if (s.timer === null) {
      s.armedAt = s.generation
      s.timer = $.clock.after(DEBOUNCE_MS, () => void quiet($, s))
    }
    const cached = s.cache.get(box.text)
    const findings = cached && !cached.pending ? cached.findings : s.latest ? carry(s.latest, box.text) : []
    if (findings.length === 0) return box
    return { ...box, decorations: [...(box.decorations ?? []), ...decorationsFor(findings, box.text.length)] }
  })

  on('ui.render', { component: 'AbovePrompt' }, async ($, e, next) => {
    const shown = await read($, report)
    if (e.props.hasSurvey || shown === null) return next(e)
    const line = headline(shown.findings)
    if (!line) return next(e)
    const { Box, Button, Text } = $.ui.resolve(e)
    const room = Math.max(20, e.props.bodyColumns - 40)
    return (
      <Box flexDirection="row" gap={1}>
        <Text color="text-warning">promptlint</Text>
        <Text wrap="truncate-end">{line.length > room ? `${line.slice(0, room - 1)}…` : line}</Text>
        {shown.rewrite !== null && <Button key="apply" label="Apply rewrite" onPress={() => applyRewrite($, shown)} />}
        <Button key="dismiss" label="Dismiss" dimColor onPress={() => update($, report, () => null)} />
      </Box>
    )
  })

  on('prompt.submit', async ($, e, next) => {
    s.timer?.cancel()
    s.timer = null
    s.draft = ''
    s.generation += 1
    s.latest = null
    void update($, report, () => null)
    // A person's own prompt only: not a task notification, a peer's message or a scheduled run.
    const typedByPerson = e.origin.kind === 'composer' || e.origin.kind === 'sdk' || e.origin.kind === 'bridge'
    if (!s.addContext || !typedByPerson || e.command || e.isMeta || !isLintable(e.text)) return next(e)
    let context: string | null = null
    try {
      context = await contextFor($, s, e.text)
    } catch {
      context = null
    }
    return next(context ? { ...e, context: [...(e.context ?? []), context] } : e)
  }).catch(($, e, next) => next(e))
}
