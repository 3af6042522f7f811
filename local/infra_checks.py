"""The template checks CI runs, with the tools from .venv-infra (bootstrap's ensure_infra_tools):
cfn-lint on the CloudFormation, checkov on the Bicep and the CloudFormation, and a Bicep parse (the
Bicep CLI is not on this machine; checkov's own Bicep parser, pycep, reads every file instead).

Usage: python -m local.infra_checks [DIR]   (DIR defaults to infra/; exit 1 on any finding)
"""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parents[1]
_PARSE = """
import json, sys
from pathlib import Path
from typing import Any
from pycep import BicepParser
parser = BicepParser()
out = {}
for name in sys.argv[1:]:
    try:
        out[name] = {"ok": True, "json": parser.parse(file_path=Path(name))}
    except Exception as error:
        out[name] = {"ok": False, "error": f"{type(error).__name__}: {error}"}
print(json.dumps(out, default=str))
"""


@dataclass(frozen=True)
class Outcome:
    tool: str
    ok: bool
    output: str


def tools_venv() -> Path:
    venv = Path(os.environ.get("AZMIGRATE_INFRA_VENV", REPO / ".venv-infra"))
    if not (venv / "bin" / "python").exists():
        raise FileNotFoundError(
            f"{venv} is missing: run `bash scripts/test.sh` (it installs the infra checkers)"
        )
    return venv


def _run(argv: list[str], cwd: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run(argv, cwd=cwd, capture_output=True, text=True, check=False, timeout=600)


def cfn_lint(root: Path) -> Outcome:
    templates = sorted(str(p) for p in (root / "aws").glob("*.yaml"))
    done = _run([str(tools_venv() / "bin" / "cfn-lint"), *templates], root)
    return Outcome("cfn-lint", done.returncode == 0 and bool(templates), done.stdout + done.stderr)


def checkov(root: Path) -> Outcome:
    done = _run(
        [
            str(tools_venv() / "bin" / "checkov"),
            "--directory",
            str(root),
            "--framework",
            "bicep",
            "cloudformation",
            "--compact",
            "--quiet",
            "--skip-download",
        ],
        root,
    )
    return Outcome("checkov", done.returncode == 0, done.stdout + done.stderr)


def bicep_parse(root: Path) -> dict[str, dict[str, Any]]:
    """Each .bicep file's parse: {"ok": True, "json": ...} or {"ok": False, "error": ...}."""
    files = sorted(str(p.relative_to(root)) for p in root.rglob("*.bicep"))
    done = _run([str(tools_venv() / "bin" / "python"), "-c", _PARSE, *files], root)
    if done.returncode != 0:
        raise RuntimeError(f"the Bicep parser did not run: {done.stderr[-2000:]}")
    parsed: dict[str, dict[str, Any]] = json.loads(done.stdout)
    return parsed


# Functions a declared symbol must not hide (Bicep BCP265: `subscription` named a module once).
_BUILTINS = frozenset(
    {"subscription", "resourceGroup", "tenant", "managementGroup", "environment", "deployment", "az", "sys"}
)
_OUTPUT_REF = re.compile(r"\b([A-Za-z_]\w*)\.outputs\.([A-Za-z_]\w*)")


def bicep_check(root: Path) -> Outcome:
    """A parse of every file, then what a compile would refuse that a parse lets through: symbols
    that hide built-in functions, and module outputs read but never declared. No Bicep CLI here."""
    parsed = bicep_parse(root)
    problems = [f"{name}: {result['error']}" for name, result in parsed.items() if not result["ok"]]
    for name, result in parsed.items():
        if result["ok"]:
            problems += _symbol_problems(root, name, result["json"], parsed)
    text = "\n".join(problems) or f"{len(parsed)} Bicep files parse and resolve"
    return Outcome("bicep", not problems and bool(parsed), text)


def _symbol_problems(root: Path, name: str, doc: Any, parsed: dict[str, dict[str, Any]]) -> list[str]:
    declared = {
        k: set(doc.get(k) or {}) for k in ("parameters", "variables", "resources", "modules", "outputs")
    }
    problems = [
        f"{name}: {symbol!r} hides the built-in function {symbol}()"
        for kind in ("parameters", "variables", "resources", "modules")
        for symbol in declared[kind] & _BUILTINS
    ]
    modules = doc.get("modules") or {}
    for module, output in _OUTPUT_REF.findall((root / name).read_text()):
        if module not in modules:
            problems.append(f"{name}: {module}.outputs.{output}: no module named {module}")
            continue
        target = str((Path(name).parent / modules[module]["detail"]["path"]).as_posix())
        outputs = (parsed.get(target, {}).get("json") or {}).get("outputs") or {}
        if output not in outputs:
            problems.append(f"{name}: {module}.outputs.{output}: {target} has no output {output}")
    return problems


def run_all(root: Path) -> list[Outcome]:
    return [bicep_check(root), cfn_lint(root), checkov(root)]


def main(argv: list[str]) -> int:
    root = Path(argv[0]) if argv else REPO / "infra"
    failed = 0
    for outcome in run_all(root):
        print(f"== {outcome.tool}: {'ok' if outcome.ok else 'FAILED'}")
        if not outcome.ok:
            failed += 1
            print(outcome.output[-4000:])
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
