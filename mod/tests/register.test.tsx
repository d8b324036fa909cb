import { describe, expect, mock, test } from 'claude-code/testing'
import type { On, PromptEditInput, PromptEditResult } from 'claude-code'
import type { Engine } from 'claude-code/testing'

const DRAFT = 'Add a database table for customer orders'
const REWRITE = 'Add an `orders` table to src/db/schema.ts.\n\nFields: <name, type and key of each field>'
const LINT = {
  findings: [
    { code: 'CON004', severity: 'warning', message: 'a new table needs its fields', start: 0, end: 20 },
    { code: 'CON002', severity: 'info', message: 'nothing said about tests', start: 0, end: 3 },
  ],
  rewrite: REWRITE,
  context: 'promptlint (a prompt linter) compared this request with the repository. Notes: src/db/schema.ts',
  advice: null,
}
const BAND = {
  plugin: 'promptlint-mod',
  component: 'AbovePrompt',
  props: {
    hasSurvey: false,
    isCollapsed: false,
    isWorking: false,
    maxRows: 10,
    bodyColumns: 120,
    scroll: { offset: 0, bodyRows: 10 },
    view: {},
  },
} as const

type World = { fetched: string[]; painted: unknown[]; filled: { text: string }[]; submitted: unknown[] }

// The world beneath the mod: the engine's endpoint command, the secret file, the server, the box.
function world(on: On, lint: unknown = LINT, failing = false, draft = ''): World {
  const seen: World = { fetched: [], painted: [], filled: [], submitted: [] }
  on('session.start', (_, e) => ({ cwd: e.cwd }))
  on('process.run', (_, e) => ({
    value: e.argv[1] === 'hook' && e.argv[2] === 'mod-endpoint'
      ? { exitCode: 0, stdout: '{"url": "http://127.0.0.1:40123", "secretFile": "/run/pl/http-secret"}', stderr: '', isStdoutTruncated: false, isStderrTruncated: false }
      : { exitCode: 127, stdout: '', stderr: 'not found', isStdoutTruncated: false, isStderrTruncated: false },
  }))
  on('fs.read', () => ({ value: 's3cret\n' }))
  on('http.fetch', (_, e) => {
    seen.fetched.push(`${e.url} ${e.init?.headers?.['X-Promptlint-Secret']} ${JSON.parse(String(e.init?.body)).prompt}`)
    if (failing) return { deny: 'connection refused' }
    return { value: { status: 200, ok: true, headers: {}, text: JSON.stringify(lint) } }
  })
  on('prompt.edit', (_, e) => {
    const text = e.text.slice(0, e.start) + e.inputText + e.text.slice(e.end)
    return { text, cursor: e.start + e.inputText.length }
  })
  on('prompt.paint', (_, e) => {
    seen.painted.push(e)
    return { value: { isPainted: true, text: e.text ?? '', cursor: 0 } }
  })
  on('prompt.read', () => ({ value: { text: draft, cursor: draft.length } })) // '': typed after the module loaded
  on('prompt.fill', (_, e) => {
    seen.filled.push({ text: e.text })
    return { isFilled: true, text: e.text, cursor: e.text.length }
  })
  on('prompt.submit', (_, e) => {
    seen.submitted.push(e.context)
    return { text: e.text, context: e.context }
  })
  return seen
}

// The kit raises prompt.edit as the composer does (a key in the box); its typings list only the
// calls a plugin makes on `$`, and a plugin never raises an edit.
function edit($: Engine, e: PromptEditInput): Promise<PromptEditResult> {
  return ($.prompt as unknown as { edit: (e: PromptEditInput) => Promise<PromptEditResult> }).edit(e)
}

function typed(text: string): PromptEditInput {
  return { origin: { kind: 'composer' }, text: '', cursor: 0, start: 0, end: 0, inputText: text }
}

describe('register', () => {
  test('an edit paints nothing new and calls no network inside its budget', async ($, on) => {
    const clock = mock.clock(on)
    const seen = world(on)
    await $.session.start({ surface: 'terminal', isInteractive: true, cwd: '/work/proj' })
    await clock.settle()
    const box = await edit($, typed(DRAFT))
    expect(box.text).toBe(DRAFT)
    expect(box.decorations ?? []).toEqual([])
    expect(seen.fetched).toEqual([]) // the lint waits for the debounce
    await clock.advance(300)
    expect(seen.fetched).toEqual([`http://127.0.0.1:40123/lint s3cret ${DRAFT}`])
    // the answer is painted: warnings underlined, info never
    expect(seen.painted).toEqual([{ text: DRAFT, decorations: [{ start: 0, end: 20, underline: true, color: 'text-warning' }] }])
    // and the next key paints from the cache, carried across the edit, with no request
    const next = await edit($, { ...typed('!'), text: DRAFT, cursor: DRAFT.length, start: DRAFT.length, end: DRAFT.length })
    expect(next.text).toBe(`${DRAFT}!`)
    expect(next.decorations).toEqual([{ start: 0, end: 20, underline: true, color: 'text-warning' }])
    expect(seen.fetched.length).toBe(1)
  })

  test('a run of keys is linted once, when the typing pauses', async ($, on) => {
    const clock = mock.clock(on)
    const seen = world(on)
    await $.session.start({ surface: 'terminal', isInteractive: true, cwd: '/work/proj' })
    let text = ''
    for (const ch of 'Add a table') {
      await edit($, { ...typed(ch), text, cursor: text.length, start: text.length, end: text.length })
      text += ch
      await clock.advance(100)
    }
    expect(seen.fetched).toEqual([]) // still typing
    await clock.advance(600)
    expect(seen.fetched).toEqual(['http://127.0.0.1:40123/lint s3cret Add a table'])
  })

  test('the band shows the finding and Apply rewrite replaces the draft only when pressed', async ($, on) => {
    const clock = mock.clock(on)
    const seen = world(on)
    await $.session.start({ surface: 'terminal', isInteractive: true, cwd: '/work/proj' })
    await edit($, typed(DRAFT))
    await clock.advance(300)
    for (const surface of ['terminal', 'desktop'] as const) {
      const ui = await $.ui.mount({ ...BAND, surface })
      expect(await ui.find({ type: 'Text', text: /CON004 a new table needs its fields/ })).toBeDefined()
      expect(await ui.find({ key: 'apply' })).toBeDefined()
      await ui.unmount()
    }
    expect(seen.filled).toEqual([])
    const ui = await $.ui.mount({ ...BAND, surface: 'terminal' })
    await ui.press({ key: 'apply' })
    expect(seen.filled).toEqual([{ text: REWRITE }])
    await ui.unmount()
    const after = await $.ui.mount({ ...BAND, surface: 'terminal' })
    expect(await after.find({ key: 'apply' })).toBeUndefined() // applied: the band goes
    await after.unmount()
  })

  test('a prompt with nothing to say draws no band', async ($, on) => {
    const clock = mock.clock(on)
    world(on, { findings: [], rewrite: null, context: null, advice: null })
    await $.session.start({ surface: 'terminal', isInteractive: true, cwd: '/work/proj' })
    await edit($, typed('Add `DELETE /products/:id` to src/routes/products.ts'))
    await clock.advance(300)
    const ui = await $.ui.mount({ ...BAND, surface: 'terminal' })
    expect(await ui.find({ key: 'apply' })).toBeUndefined()
    await ui.unmount()
  })

  test('on submit the facts go to the model beside the prompt, unchanged', async ($, on) => {
    mock.clock(on)
    const seen = world(on)
    await $.session.start({ surface: 'terminal', isInteractive: true, cwd: '/work/proj' })
    const entered = await $.prompt.submit({ text: DRAFT, wait: false, origin: { kind: 'composer' } })
    expect(seen.fetched).toEqual([`http://127.0.0.1:40123/lint s3cret ${DRAFT}`])
    expect(seen.submitted).toEqual([[LINT.context]])
    expect(entered.text).toBe(DRAFT)
    expect(entered.context).toEqual([LINT.context])
  })

  test('what was typed before the module loaded is checked at start', async ($, on) => {
    const clock = mock.clock(on)
    const seen = world(on, LINT, false, DRAFT)
    await $.session.start({ surface: 'terminal', isInteractive: true, cwd: '/work/proj' })
    await clock.settle()
    expect(seen.fetched).toEqual([`http://127.0.0.1:40123/lint s3cret ${DRAFT}`])
    expect(seen.painted.length).toBe(1)
  })

  test('a task notification is not a prompt to lint', async ($, on) => {
    mock.clock(on)
    const seen = world(on)
    await $.session.start({ surface: 'terminal', isInteractive: true, cwd: '/work/proj' })
    const entered = await $.prompt.submit({ text: DRAFT, wait: false, origin: { kind: 'task-notification' } })
    expect(entered.context).toBeUndefined()
    expect(seen.fetched).toEqual([])
  })

  test('slash commands and nolint: are not linted', async ($, on) => {
    const clock = mock.clock(on)
    const seen = world(on)
    await $.session.start({ surface: 'terminal', isInteractive: true, cwd: '/work/proj' })
    await edit($, typed('/review the diff'))
    await edit($, typed('nolint: just do it'))
    await clock.advance(1000)
    const entered = await $.prompt.submit({ text: 'nolint: just do it', wait: false, origin: { kind: 'composer' } })
    expect(entered.context).toBeUndefined()
    expect(seen.fetched).toEqual([])
  })

  test('everything fails open when the server is gone', async ($, on) => {
    const clock = mock.clock(on)
    const seen = world(on, LINT, true)
    await $.session.start({ surface: 'terminal', isInteractive: true, cwd: '/work/proj' })
    const box = await edit($, typed(DRAFT))
    expect(box.text).toBe(DRAFT)
    await clock.advance(300)
    expect(seen.painted).toEqual([])
    const entered = await $.prompt.submit({ text: DRAFT, wait: false, origin: { kind: 'composer' } })
    expect(entered.text).toBe(DRAFT)
    expect(entered.context).toBeUndefined()
  })
})
