"""The README's command blocks run as written, so its examples cannot rot.

Every fenced ``sh`` (or ``bash``/``shell``) block of README.md runs, in the order
the README gives them, in one fresh temporary folder, the way a new user
follows it after ``make demo``: ``.venv`` there is this test run's virtual
environment (so ``source .venv/bin/activate`` and ``.venv/bin/bizcase`` work),
and ``bizcase`` is on the PATH. Each block runs under ``bash -e`` and must
exit 0 without a traceback or a warning on stderr.

A block that cannot run here (it sets up the environment this test runs in)
is marked on the line before its fence with a visible
``<!-- readme-test: skip: REASON -->``; the reason is required.
"""

from __future__ import annotations

import os
import re
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

README = Path(__file__).resolve().parent.parent / "README.md"
COMMAND_LANGUAGES = {"sh", "bash", "shell"}
SKIP = re.compile(r"^<!--\s*readme-test:\s*skip:\s*(?P<reason>.*?)\s*-->\s*$")


@dataclass(frozen=True)
class Block:
    line: int  # of the opening fence, 1-based
    language: str
    text: str
    skip_reason: str | None


def command_blocks(markdown: str) -> list[Block]:
    """The fenced blocks whose language is a shell, with any skip marker above them."""
    lines = markdown.splitlines()
    blocks, i = [], 0
    while i < len(lines):
        fence = re.match(r"^(```+)\s*(\S*)", lines[i])
        if not fence:
            i += 1
            continue
        start, language = i, fence.group(2).lower()
        i += 1
        while i < len(lines) and not lines[i].startswith(fence.group(1)):
            i += 1
        if language in COMMAND_LANGUAGES:
            marker = SKIP.match(lines[start - 1]) if start else None
            blocks.append(
                Block(
                    start + 1,
                    language,
                    "\n".join(lines[start + 1 : i]),
                    marker.group("reason") if marker else None,
                )
            )
        i += 1
    return blocks


def _venv() -> Path:
    """This run's virtual environment, with the installed console script."""
    prefix = Path(sys.prefix)
    for needed in ("bin/activate", "bin/bizcase"):
        assert (prefix / needed).is_file(), (
            f"{prefix / needed} is missing: run the suite from the project's .venv (make test)"
        )
    return prefix


def test_the_parser_finds_blocks_and_their_skip_markers():
    markdown = "\n".join(
        [
            "text",
            "<!-- readme-test: skip: needs Excel -->",
            "```sh",
            "excel --open",
            "```",
            "```python",
            "print(1)",
            "```",
            "```bash",
            "echo one",
            "echo two",
            "```",
        ]
    )
    assert command_blocks(markdown) == [
        Block(3, "sh", "excel --open", "needs Excel"),
        Block(9, "bash", "echo one\necho two", None),
    ]


def test_every_skip_marker_gives_a_reason_and_precedes_a_command_block():
    lines = README.read_text(encoding="utf-8").splitlines()
    markers = [i for i, line in enumerate(lines) if "readme-test" in line]
    skipped = {b.line - 2 for b in command_blocks("\n".join(lines)) if b.skip_reason}
    for i in markers:
        match = SKIP.match(lines[i])
        assert match and match.group("reason"), f"README.md:{i + 1}: malformed marker"
        assert i in skipped, f"README.md:{i + 1}: a skip marker must sit right above a sh block"


def test_every_readme_command_block_runs_in_a_fresh_folder(tmp_path):
    blocks = command_blocks(README.read_text(encoding="utf-8"))
    to_run = [b for b in blocks if b.skip_reason is None]
    assert len(to_run) >= 4, "the README's examples were not found"
    venv = _venv()
    (tmp_path / ".venv").symlink_to(venv, target_is_directory=True)
    env = {
        **os.environ,
        "PATH": f"{venv / 'bin'}{os.pathsep}{os.environ.get('PATH', '')}",
        "COLUMNS": "160",
    }
    for block in to_run:
        result = subprocess.run(
            ["bash", "-e", "-o", "pipefail", "-c", block.text],
            cwd=tmp_path,
            env=env,
            capture_output=True,
            text=True,
            timeout=900,
        )
        where = f"README.md:{block.line}\n{block.text}\n--- stderr:\n{result.stderr}"
        assert result.returncode == 0, where
        assert "Traceback" not in result.stderr, where
        assert "Warning" not in result.stderr, where


def test_the_readme_says_how_to_run_bizcase_right_under_make_demo():
    first, second = command_blocks(README.read_text(encoding="utf-8"))[:2]
    assert "make demo" in first.text and "make test" in first.text
    assert second.text.startswith("source .venv/bin/activate")
    assert second.skip_reason is None  # and the test above runs it
