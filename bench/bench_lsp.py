"""Time from didOpen to the first diagnostics, cold (a fresh server: spaCy loads) and warm, on a
real repository. Run by hand:  python bench/bench_lsp.py /path/to/a/3000-file/repo
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path


class Client:
    def __init__(self, root: Path, env: dict):
        self.proc = subprocess.Popen([sys.executable, "-m", "promptlint", "lsp"], stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, env=env)
        self.next_id = 0

    def send(self, method: str, params: dict, request: bool = False) -> None:
        msg = {"jsonrpc": "2.0", "method": method, "params": params}
        if request:
            self.next_id += 1
            msg["id"] = self.next_id
        body = json.dumps(msg).encode()
        self.proc.stdin.write(b"Content-Length: %d\r\n\r\n" % len(body) + body)
        self.proc.stdin.flush()

    def read(self) -> dict:
        length = 0
        while True:
            line = self.proc.stdout.readline()
            if line in (b"\r\n", b"\n"):
                break
            if line.lower().startswith(b"content-length:"):
                length = int(line.split(b":")[1])
        return json.loads(self.proc.stdout.read(length))

    def wait_for(self, method: str, uri: str | None = None) -> dict:
        while True:
            msg = self.read()
            if msg.get("method") == method and (uri is None or msg["params"].get("uri") == uri):
                return msg


def main() -> None:
    root = Path(sys.argv[1]).resolve()
    env = {**os.environ, "PROMPTLINT_CACHE_DIR": tempfile.mkdtemp(prefix="pl-lsp-cache-")}
    files = len(subprocess.run(["git", "-C", str(root), "ls-files"], capture_output=True, text=True).stdout.splitlines())
    client = Client(root, env)
    client.send("initialize", {"processId": os.getpid(), "rootUri": root.as_uri(), "capabilities": {}}, request=True)
    client.read()
    client.send("initialized", {})
    timings = []
    for n in range(6):
        uri = (root / f"bench-{n}.prompt").as_uri()
        started = time.perf_counter()
        client.send("textDocument/didOpen", {"textDocument": {"uri": uri, "languageId": "prompt", "version": 1, "text": "Add a database table for customer orders\n"}})
        client.wait_for("textDocument/publishDiagnostics", uri)
        timings.append(time.perf_counter() - started)
        time.sleep(0.5 if n == 0 else 0.05)
    client.send("shutdown", {}, request=True)
    client.send("exit", {})
    client.proc.wait(timeout=30)
    warm = sorted(timings[1:])
    print(f"repository: {root} ({files} files)")
    print(f"didOpen -> first diagnostics, cold (fresh server, loads spaCy; index builds in the background): {timings[0] * 1000:.0f} ms")
    print(f"didOpen -> first diagnostics, warm: median {warm[len(warm) // 2] * 1000:.0f} ms, max {warm[-1] * 1000:.0f} ms")
    print(f"server exit code after shutdown/exit: {client.proc.returncode}")


if __name__ == "__main__":
    main()
