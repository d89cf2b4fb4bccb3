"""graphsleuth as a user gets it: the wheel, installed into a fresh virtual environment, run outside the checkout."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import venv
from pathlib import Path

import pytest

from helpers import REPO

pytestmark = pytest.mark.slow


def _run(args: list[str], cwd: Path, env: dict, timeout: float = 900) -> subprocess.CompletedProcess:
    done = subprocess.run(args, cwd=cwd, env=env, capture_output=True, text=True, timeout=timeout)
    assert done.returncode == 0, f"{' '.join(map(str, args))}: exit {done.returncode}\n{done.stdout[-2000:]}\n{done.stderr[-2000:]}"
    return done


def test_the_wheel_runs_generate_detect_evaluate_and_fetch_outside_the_checkout(tmp_path):
    wheels = tmp_path / "dist"
    _run(
        [sys.executable, "-m", "pip", "wheel", "--no-deps", "-w", str(wheels), str(REPO)],
        cwd=tmp_path,
        env=dict(os.environ),
    )
    (wheel,) = wheels.glob("graphsleuth-*.whl")
    env_dir = tmp_path / "venv"
    venv.create(env_dir, with_pip=True)
    python = env_dir / "bin" / "python"
    # Outside the checkout, with nothing of it on the path: only the installed package can be found.
    env = {k: v for k, v in os.environ.items() if k not in ("PYTHONPATH", "VIRTUAL_ENV", "GRAPHSLEUTH_HOME")}
    env["GRAPHSLEUTH_HOME"] = str(tmp_path / "home")
    _run([str(python), "-m", "pip", "install", "--quiet", str(wheel)], cwd=tmp_path, env=env)
    where = _run([str(python), "-c", "import graphsleuth, sys; print(graphsleuth.__file__)"], cwd=tmp_path, env=env).stdout.strip()
    assert where.startswith(str(env_dir)), where

    cli = env_dir / "bin" / "graphsleuth"
    work = tmp_path / "work"
    work.mkdir()
    _run([str(cli), "generate", "--scenario", "demo", "--accounts", "2000", "--seed", "3", "--out", "pop", "--quiet"], cwd=work, env=env)
    _run([str(cli), "detect", "pop", "--out", "rings", "--quiet"], cwd=work, env=env)
    figures = json.loads(_run([str(cli), "evaluate", "rings", "pop/truth.csv", "--format", "json"], cwd=work, env=env).stdout)
    assert figures["rings_found"] >= 3 and figures["precision"] >= 0.95, figures
    rings = [json.loads(line) for line in (work / "rings" / "rings.jsonl").read_text().splitlines()]
    assert rings and all(ring["browser_link"].startswith("http://127.0.0.1:") for ring in rings)

    fetched = _run([str(cli), "neo4j", "fetch"], cwd=work, env=env, timeout=1200)
    lib = Path(env["GRAPHSLEUTH_HOME"]) / "neo4j" / "lib"
    assert str(lib) in fetched.stdout and any(lib.glob("neo4j-browser-*.jar"))
    assert (Path(env["GRAPHSLEUTH_HOME"]) / "neo4j" / "plugins" / "graphsleuth-procedures.jar").is_file()
    # Nothing was written inside the installed package.
    site = Path(where).parent
    assert not (site / ".graphsleuth").exists() and not list(site.rglob("*.jar"))
