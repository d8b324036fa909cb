"""The `promptlint` command. The Claude Code hook takes a fast path that imports only the standard
library (it runs before every prompt); everything else goes through the click CLI."""

import sys


def main() -> None:
    if sys.argv[1:3] == ["hook", "claude-code"]:
        from .hook.client import main as hook_main

        hook_main(sys.argv[3:])
        return
    from .cli import main as cli_main

    cli_main()
