"""The language server as a plain process: shutdown/exit end it with code 0, and a real editor
(Neovim, headless) receives its diagnostics."""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
import textwrap

import pytest

from .conftest import REPOS

TS = (REPOS / "ts-api").resolve()


def frame(payload: dict) -> bytes:
    body = json.dumps(payload).encode()
    return b"Content-Length: %d\r\n\r\n" % len(body) + body


def test_shutdown_and_exit_end_the_process_with_code_zero():
    messages = [
        {"jsonrpc": "2.0", "id": 1, "method": "initialize", "params": {"processId": None, "rootUri": TS.as_uri(), "capabilities": {}}},
        {"jsonrpc": "2.0", "method": "initialized", "params": {}},
        {"jsonrpc": "2.0", "id": 2, "method": "shutdown"},
        {"jsonrpc": "2.0", "method": "exit"},
    ]
    proc = subprocess.run([sys.executable, "-m", "promptlint", "lsp"], input=b"".join(frame(m) for m in messages), capture_output=True, timeout=120)
    assert proc.returncode == 0, proc.stderr.decode()[-2000:]
    assert b'"id": 2' in proc.stdout or b'"id":2' in proc.stdout


NVIM = shutil.which("nvim")


@pytest.mark.skipif(NVIM is None, reason="Neovim is not installed (.ci/run installs Debian's neovim)")
def test_neovim_headless_receives_diagnostics(tmp_path):
    prompt = tmp_path / "task.prompt"
    prompt.write_text("Add a database table for customer orders\n")
    out = tmp_path / "diagnostics.json"
    script = tmp_path / "check.lua"
    # vim.lsp.start_client works on Neovim 0.7 (Debian 12); newer Neovim also has vim.lsp.start.
    script.write_text(textwrap.dedent(f"""
        local client_id = vim.lsp.start_client({{
          name = "promptlint",
          cmd = {{ {json.dumps(sys.executable)}, "-m", "promptlint", "lsp" }},
          root_dir = {json.dumps(str(TS))},
        }})
        vim.cmd("edit " .. {json.dumps(str(prompt))})
        local buf = vim.api.nvim_get_current_buf()
        vim.lsp.buf_attach_client(buf, client_id)
        local ok = vim.wait(60000, function() return #vim.diagnostic.get(buf) > 0 end, 100)
        local found = {{}}
        for _, d in ipairs(vim.diagnostic.get(buf)) do
          table.insert(found, {{ code = d.code or (d.user_data and d.user_data.lsp and d.user_data.lsp.code), line = d.lnum, message = d.message, source = d.source }})
        end
        local f = io.open({json.dumps(str(out))}, "w")
        f:write(vim.fn.json_encode({{ ok = ok, diagnostics = found }}))
        f:close()
        vim.lsp.stop_client(client_id)
        vim.cmd("qa!")
    """))
    proc = subprocess.run([NVIM, "--headless", "--clean", "-u", "NONE", "-c", f"luafile {script}"], capture_output=True, timeout=180)
    data = json.loads(out.read_text())
    assert data["ok"], proc.stderr.decode()[-2000:]
    codes = {d["code"] for d in data["diagnostics"]}
    assert {"CON002", "CON004"} <= codes
    assert all(d["source"] == "promptlint" for d in data["diagnostics"])


def test_malformed_params_get_a_json_rpc_error_and_the_server_lives_on():
    messages = [
        {"jsonrpc": "2.0", "id": 1, "method": "initialize", "params": {"processId": None, "rootUri": TS.as_uri(), "capabilities": {}}},
        {"jsonrpc": "2.0", "method": "initialized", "params": {}},
        {"jsonrpc": "2.0", "id": 2, "method": "textDocument/hover", "params": {"textDocument": 42, "position": "top"}},
        {"jsonrpc": "2.0", "id": 3, "method": "shutdown"},
        {"jsonrpc": "2.0", "method": "exit"},
    ]
    proc = subprocess.run([sys.executable, "-m", "promptlint", "lsp"], input=b"".join(frame(m) for m in messages), capture_output=True, timeout=120)
    replies = [json.loads(part.split(b"\r\n\r\n", 1)[1]) for part in proc.stdout.split(b"Content-Length: ")[1:]]
    by_id = {r.get("id"): r for r in replies if "id" in r}
    assert "error" in by_id[2] and by_id[2]["error"]["code"] in (-32602, -32600, -32603)
    assert "result" in by_id[3]  # still serving after the bad request
    assert proc.returncode == 0
