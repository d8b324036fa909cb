"""The `promptlint` command. The Claude Code hook takes a fast path that imports only the standard
library (it runs before every prompt); everything else goes through the click CLI."""

import os
import sys


def main() -> None:
    if sys.argv[1:3] == ["hook", "claude-code"]:
        from .hook.client import main as hook_main

        hook_main(sys.argv[3:])
        return
    if sys.argv[1:3] == ["hook", "session-start"]:
        from .hook.session_start import main as start_main

        start_main(sys.argv[3:])
        return
    if sys.argv[1:3] == ["hook", "mod-endpoint"]:
        from .hook.endpoint import main as endpoint_main

        endpoint_main(sys.argv[3:])
        return
    if sys.argv[1:2] and sys.argv[1] in ("check", "rewrite", "advise"):
        # A warm server runs the same command with our stdin/stdout/stderr (promptlint.remote).
        from .remote import run as run_remote

        code = run_remote(sys.argv[1:])
        if code is not None:
            sys.stdout.flush()
            os._exit(code)
    # In-process from here (spaCy, the rules): their regular expressions come compiled from the cache.
    from .regexcache import install

    install()
    from .cli import main as cli_main

    cli_main()
