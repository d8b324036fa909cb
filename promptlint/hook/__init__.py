"""The Claude Code integration: the UserPromptSubmit hook (a light client), what it answers, and the
installer. The client imports only the standard library; the analysis runs in `promptlint server`."""
