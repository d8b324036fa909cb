"""Collect real prompts from public repositories' agent histories, for study and for
``bench_real_prompts.py --collection``. Run by hand; the collected text stays outside this repository.

    # from git mirrors of public repositories (e.g. fetched under /work/.mirror/<owner>+<name>/repo):
    python bench/collect_prompts.py --mirrors /work/.mirror --out /tmp/collection.jsonl \\
        --manifest bench/data/collection-manifest.jsonl

Rebuilds the exact collection that the committed figures were measured on: the manifest lists each
prompt's repository, file, commit and turn (no text), and its part (``tune`` was looked at while the
rules were tuned; ``heldout`` and ``heldout2`` were not, see the bench output for which was exposed).

With ``--repos owner/name ...`` instead of ``--manifest`` it scans those repositories' whole history for
agent transcripts and prompt files (Aider ``.aider.chat.history.md``, SpecStory
``.specstory/history/*.md``, ``.claude/commands/*.md``, Copilot ``*.prompt.md``, Claude Code hook logs
``logs/user_prompt_submit.json`` and transcripts ``logs/chat.json``), keeps English prompts,
drops duplicates and non-prompts (Aider's /commands), and takes at most ``--per-repo`` per repository.
Each record: id, repo, path, commit, turn, kind, text, previous_turn (the assistant message before it,
None for a session's first turn), split.

Finding repositories for a fresh batch: most repositories that hold a transcript by name have no
snapshot to fetch, or one whose transcripts are empty, automated or not English. ``--survey`` prints
what each fetched repository holds before a batch is built. In batch 7 the Claude Code hook
template's ``logs/chat.json`` (the session transcript, every version of it) gave the most typed
prompts a repository; SpecStory's ``.specstory/.what-is-this.md`` and ``.project.json`` name many
repositories whose history folder is empty. In batch 9 a listing by exact path stopped at the first
hundred names of 2,866 Aider histories; the same file under a folder (``backend/``, ``client/``,
``server/``, ``scripts/``) gives short lists of other repositories, and of 48 candidates tried 8 had a
snapshot. Hook logs and transcripts also hold text that a tool typed for the user (Aider's yes/no
answers, Claude Code's accepted plans and task notifications), dropped at collection (``NOT_TYPED``).
"""

from __future__ import annotations

import argparse
import hashlib
import json
import random
import re
import subprocess
import sys
from pathlib import Path

PATTERN = re.compile(
    r"(^|/)\.aider\.chat\.history\.md$|\.specstory/history/.*\.md$|(^|/)\.claude/commands/.*\.md$|\.github/prompts/.*\.prompt\.md$|(^|/)\.continue/prompts/.*\.md$"
    r"|(^|/)logs/user_prompt_submit\.json$|(^|/)logs/chat\.json$"
)
# Transcript files at a fixed place, looked up by name when the listing of the history stops early.
FIXED_PATHS = (".aider.chat.history.md", "logs/user_prompt_submit.json", "logs/chat.json")
STOP = set("the a an to of and in is it for on with this that you can be i we my please not are do make add fix use from".split())
# Function words of the languages that slipped through the ASCII and English-stopword test (Italian,
# Spanish, Portuguese, French, German typed without accents): words that are no English word, so a
# prompt made of them is not English however many "a", "in", "per" it shares with English.
FOREIGN = set("""
il che di della delle dei degli nel nella sul alla alle gli sono questo questa questi perche anche
molto piu voglio puoi fare deve essere tutti tutte ogni cosa quando dove ancora adesso grazie ciao
fai devi vorrei bisogna sia funziona codice file pagina
el los las que del para por una esto pero muy hacer quiero puedes tambien esta cuando donde todos
necesito archivo
nao voce isso fazer quero pode tambem dos das uma com
les des est une pour avec pas dans qui sur je nous vous faire cette mais
der das und ist nicht ein eine mit fur auf ich wir bitte auch noch den dem
""".split())


# Chinese, Japanese and Korean script (and full-width forms): no English prompt writes its words in it.
CJK = re.compile(r"[\u3040-\u30ff\u3400-\u4dbf\u4e00-\u9fff\uac00-\ud7af\uff00-\uffef]")


def git(gitdir: Path, *args: str) -> bytes:
    # quotepath off: git otherwise lists a non-ASCII file name as a quoted octal escape, which
    # `git show <commit>:<path>` cannot find, so every such transcript was silently skipped.
    return subprocess.run(["git", "-c", "core.quotepath=off", "--git-dir", str(gitdir), *args], capture_output=True).stdout


def kind_of(path: str) -> str:
    if path.endswith("logs/chat.json") or path == "chat.json":
        return "claude-transcript-turn"
    if path.endswith("user_prompt_submit.json"):
        return "claude-prompt-log"
    if "aider" in path:
        return "aider-user-turn"
    if "specstory" in path:
        return "specstory-user-turn"
    if ".continue/prompts" in path:
        return "continue-prompt-file"
    return "claude-command" if ".claude/commands" in path else "copilot-prompt-file"


def aider_turns(text: str) -> list[tuple[str, str | None]]:
    """User turns ("#### " lines) with the assistant reply before each (None at a session start)."""
    out, lines, i, previous = [], text.split("\n"), 0, None
    while i < len(lines):
        if lines[i].startswith("# aider chat started"):
            previous = None
        if not lines[i].startswith("#### "):
            i += 1
            continue
        j, user = i, []
        while j < len(lines) and lines[j].startswith("####"):
            user.append(lines[j][5:] if lines[j].startswith("#### ") else "")
            j += 1
        out.append(("\n".join(user).strip(), previous))
        k, reply = j, []
        while k < len(lines) and not lines[k].startswith(("#### ", "# aider chat started")):
            if not lines[k].startswith("> "):
                reply.append(lines[k])
            k += 1
        previous = "\n".join(reply).strip() or previous
        i = k
    return out


def specstory_turns(text: str) -> list[tuple[str, str | None]]:
    parts = re.split(r"^_\*\*(User|Assistant|Agent)[^*]*\*\*_\s*$", text, flags=re.M)
    out, previous = [], None
    for k in range(1, len(parts) - 1, 2):
        role, body = parts[k], re.sub(r"\n---\s*$", "", parts[k + 1].strip()).strip()
        if role == "User":
            out.append((body, previous))
        else:
            previous = body
    return out


def prompt_log_turns(text: str) -> list[tuple[str, str | None]]:
    """Claude Code UserPromptSubmit hook records (a JSON array, or one object a line) as logged by
    hook templates: each record's ``prompt``. The assistant's reply is not logged (None)."""
    records = json_records(text)
    # Some hook templates nest the hook's payload under "input_data" beside their own timestamp.
    records = [r.get("input_data", r) if isinstance(r, dict) else r for r in records]
    # A logged prompt can hold half an emoji as an escaped lone surrogate, which UTF-8 cannot encode.
    return [(r["prompt"].encode("utf-8", "replace").decode("utf-8"), None) for r in records if isinstance(r, dict) and isinstance(r.get("prompt"), str)]


# User records of a Claude Code transcript that Claude Code wrote, not the user: slash-command
# invocations and their output, the caveat before local command output, interruptions, background
# task notifications, and the input and output of the user's own `!` shell commands.
HARNESS_TEXT = re.compile(
    r"\s*(<command-(name|message|args)>|<local-command-(stdout|stderr)>|<bash-(input|stdout|stderr)>|<task-notification>"
    r"|<system-reminder>|<user-memory-input>|Caveat: The messages below|\[Request interrupted)")
# Turns that a tool wrote in the user's place, dropped when a batch is collected (not by the turn
# parsers, whose turn numbers the committed manifests name): Aider logs the answer to its own yes/no
# questions ("Add file to the chat? (Y)es/(N)o ...: all") as a user turn, and Claude Code sends the
# plan the agent wrote back as a user record ("Implement the following plan: ...", marked
# ``planContent``) when the user accepts it in plan mode.
NOT_TYPED = re.compile(r"[^\n]*\(Y\)es/\(N\)o|\s*Implement the following plan:")


def json_records(text: str) -> list:
    """A JSON array, one object, or one object a line (lines that do not parse are skipped)."""
    try:
        records = json.loads(text)
    except ValueError:
        records = []
        for line in text.splitlines():
            try:
                records.append(json.loads(line))
            except ValueError:
                continue
    return [records] if isinstance(records, dict) else records if isinstance(records, list) else []


def message_text(message) -> str | None:
    """The text a transcript message carries, or None if it carries a tool call or tool result
    (a user record holding a tool_result is Claude Code's reply to the model, not typed)."""
    content = message.get("content") if isinstance(message, dict) else None
    if isinstance(content, str):
        return content
    if not isinstance(content, list) or not content:
        return None
    if any(not isinstance(b, dict) or b.get("type") not in ("text", "image") for b in content):
        return None
    texts = [b["text"] for b in content if b.get("type") == "text" and isinstance(b.get("text"), str)]
    return "\n".join(texts) if texts else None


def transcript_turns(text: str) -> list[tuple[str, str | None]]:
    """Typed user turns of a Claude Code transcript (``logs/chat.json`` as hook templates copy it:
    the session's JSONL records as one array), each with the assistant's last text before it (None at
    a session's start). Skipped: meta records (expanded command files, caveats), compaction summaries,
    sidechains (subagents), tool results and the harness's own command records."""
    out, previous, session = [], None, object()
    for r in json_records(text):
        if not isinstance(r, dict) or r.get("isSidechain"):
            continue
        if r.get("sessionId") != session:
            session, previous = r.get("sessionId"), None
        body = message_text(r.get("message"))
        if r.get("type") == "assistant":
            previous = body.strip() if body and body.strip() else previous
        elif r.get("type") == "user" and body and not r.get("isMeta") and not r.get("isCompactSummary") and not HARNESS_TEXT.match(body):
            # A lone surrogate (half an emoji) cannot be encoded as UTF-8: replace it.
            out.append((body.encode("utf-8", "replace").decode("utf-8"), previous))
    return out


def turns_of(path: str, text: str) -> list[tuple[str, str | None]]:
    if kind_of(path) == "claude-transcript-turn":
        return transcript_turns(text)
    if path.endswith("user_prompt_submit.json"):
        return prompt_log_turns(text)
    if "aider" in path:
        return aider_turns(text)
    if "specstory" in path:
        return specstory_turns(text)
    return [(text, None)]


def is_english_prompt(text: str) -> bool:
    if not 8 <= len(text) <= 9000 or sum(ord(c) < 128 for c in text) / len(text) <= 0.97:
        return False
    # A few words of Chinese, Japanese or Korean before a long pasted English log keep the ASCII share
    # high; the request itself is then not English.
    if any(CJK.search(line) for line in text.splitlines() if not line.startswith(("    ", "\t", ">"))):
        return False
    if text.startswith("/") or re.fullmatch(r"#?[\w-]+:\s*\S+", text) or re.fullmatch(r"[|:\- ]+", text):
        return False  # Aider's /commands, config lines from Aider's own docs, table rules
    words = re.findall(r"[a-zA-Z']+", text.lower())
    if len(words) < 3 or sum(w in STOP for w in words) / len(words) < 0.12:
        return False
    # Prose only: code and pasted logs in a prompt hold identifiers such as "del", "dos", "est".
    prose = [w for line in text.splitlines() if not line.startswith(("    ", "\t", "```", ">")) for w in re.findall(r"[a-zA-Z']+", line.lower())]
    english, foreign = sum(w in STOP for w in prose), sum(w in FOREIGN for w in prose)
    return not (foreign >= 3 and foreign > english)


def prompt_id(repo: str, path: str, turn: int) -> str:
    return hashlib.sha1(f"{repo}|{path}|{turn}".encode()).hexdigest()[:10]


def from_manifest(mirrors: Path, manifest: Path) -> list[dict]:
    out, cache = [], {}
    for line in manifest.read_text().splitlines():
        m = json.loads(line)
        gitdir = mirrors / m["repo"].replace("/", "+") / "repo"
        key = (m["repo"], m["path"], m["commit"])
        if key not in cache:
            cache[key] = turns_of(m["path"], git(gitdir, "show", f"{m['commit']}:{m['path']}").decode("utf-8", "replace"))
        turns = cache[key]
        if m["turn"] >= len(turns):
            print(f"missing: {m['repo']} {m['path']} turn {m['turn']}", file=sys.stderr)
            continue
        text, previous = turns[m["turn"]]
        out.append({**m, "text": text.strip(), "previous_turn": previous})
    return out


# Hook logs that the hook rewrites each session: every committed version can hold other sessions'
# prompts, so all versions are read (the longest first), not only the longest.
SESSION_LOG_KINDS = {"claude-transcript-turn", "claude-prompt-log"}


def prompt_id_at(repo: str, path: str, commit: str, turn: int, best: str) -> str:
    """The longest version's turns keep the id of ``prompt_id``; other versions' turns name their commit."""
    return prompt_id(repo, path, turn) if commit == best else hashlib.sha1(f"{repo}|{path}|{commit}|{turn}".encode()).hexdigest()[:10]


def from_repos(mirrors: Path, repos: list[str], per_repo: int, held: set[str], split: str | None = None,
               kinds: set[str] | None = None) -> list[dict]:
    out, seen = [], set()
    for repo in repos:
        gitdir = mirrors / repo.replace("/", "+") / "repo"
        # Fetched snapshots can lack old objects, which stops `git log` early: HEAD's tree is always there.
        listed = git(gitdir, "log", "--all", "--name-only", "--format=") + b"\n" + git(gitdir, "ls-tree", "-r", "--name-only", "HEAD")
        names = {n for n in listed.decode().split("\n") if n and PATTERN.search(n)} | {
            path for path in FIXED_PATHS if git(gitdir, "log", "--all", "--format=%H", "-1", "--", path).strip()}
        found = []
        for path in sorted(names):
            if kinds and kind_of(path) not in kinds:
                continue
            head = git(gitdir, "rev-parse", "HEAD").decode().split()
            many = kind_of(path) in SESSION_LOG_KINDS
            commits = git(gitdir, "log", "--all", "--format=%H", "--", path).decode().split()[:40 if many else 8] + head
            versions = [(c, git(gitdir, "show", f"{c}:{path}").decode("utf-8", "replace")) for c in dict.fromkeys(commits)]
            versions = [v for v in versions if v[1]]
            if not versions:
                continue
            best = max(versions, key=lambda v: len(v[1]))  # the first of equally long versions
            for commit, content in [best] + ([v for v in versions if v[0] != best[0]] if many else []):
                for turn, (text, previous) in enumerate(turns_of(path, content)):
                    text = text.strip()
                    key = " ".join(text.lower().split())
                    # HARNESS_TEXT again: a UserPromptSubmit hook logs Claude Code's own records too
                    # (a background task's <task-notification>), which the transcript parser drops.
                    if not is_english_prompt(text) or NOT_TYPED.match(text) or HARNESS_TEXT.match(text) or key in seen:
                        continue
                    seen.add(key)
                    found.append({"id": prompt_id_at(repo, path, commit, turn, best[0]), "repo": repo, "path": path, "commit": commit,
                                  "turn": turn, "kind": kind_of(path), "text": text, "previous_turn": previous})
        found.sort(key=lambda r: r["id"])
        random.Random(hashlib.sha1(repo.encode()).hexdigest()).shuffle(found)
        for r in found[:per_repo]:
            out.append({**r, "split": split or ("heldout" if repo in held else "tune")})
    return out


def survey(mirrors: Path, repos: list[str], kinds: set[str] | None = None) -> list[str]:
    """One line a repository: the English, deduplicated prompts it holds by kind, before --per-repo.
    Most candidate repositories found by file name have no fetchable snapshot, or a snapshot whose
    transcripts are empty or not English: this tells which are worth a batch before one is built."""
    lines = []
    for repo in repos:
        if not (mirrors / repo.replace("/", "+") / "repo").is_dir():
            lines.append(f"{repo}: no mirror")
            continue
        counts: dict[str, int] = {}
        for r in from_repos(mirrors, [repo], per_repo=sys.maxsize, held=set(), kinds=kinds):
            counts[r["kind"]] = counts.get(r["kind"], 0) + 1
        lines.append(f"{repo}: {sum(counts.values())}" + "".join(f", {kind} {n}" for kind, n in sorted(counts.items())))
    return lines


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--mirrors", type=Path, default=Path("/work/.mirror"))
    parser.add_argument("--out", type=Path, help="where to write the collection (keep it outside the repository)")
    parser.add_argument("--manifest", type=Path, help="rebuild the collection this manifest lists")
    parser.add_argument("--repos", nargs="*", default=[], help="or scan these repositories")
    parser.add_argument("--held-out", nargs="*", default=[], help="with --repos: repositories whose prompts form the held-out part")
    parser.add_argument("--split", help="with --repos: the part every collected prompt belongs to (e.g. a fresh held-out batch)")
    parser.add_argument("--per-repo", type=int, default=10)
    parser.add_argument("--kinds", nargs="*", help="with --repos: keep only these kinds (e.g. the typed ones: aider-user-turn specstory-user-turn claude-prompt-log claude-transcript-turn)")
    parser.add_argument("--write-manifest", type=Path, help="also write the manifest (no text) of what was collected")
    parser.add_argument("--survey", action="store_true", help="with --repos: print how many prompts of each kind each repository holds, write nothing")
    args = parser.parse_args(argv)
    if args.survey:
        if not args.repos:
            parser.error("--survey needs --repos")
        for line in survey(args.mirrors, args.repos, set(args.kinds or ())):
            print(line)
        return 0
    if args.out is None:
        parser.error("--out is required")
    if args.manifest:
        rows = from_manifest(args.mirrors, args.manifest)
    elif args.repos:
        rows = from_repos(args.mirrors, args.repos, args.per_repo, set(args.held_out), args.split, set(args.kinds or ()))
    else:
        parser.error("give --manifest or --repos")
    with args.out.open("w", encoding="utf-8") as f:
        for r in rows:
            f.write(json.dumps(r, ensure_ascii=False) + "\n")
    if args.write_manifest:
        with args.write_manifest.open("w") as f:
            for r in rows:
                f.write(json.dumps({k: r[k] for k in ("id", "repo", "path", "commit", "turn", "kind", "split")}) + "\n")
    print(f"{len(rows)} prompts from {len({r['repo'] for r in rows})} repositories -> {args.out}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
