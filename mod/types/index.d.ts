export type PromptlintFinding = {
  code: string
  severity: 'error' | 'warning' | 'info'
  message: string
  start: number
  end: number
}

export type PromptlintReport = {
  text: string
  findings: PromptlintFinding[]
  rewrite: string | null
}

declare module 'claude-code' {
  interface PluginState {
    'promptlint-mod': { report: PromptlintReport | null }
  }
}
