"""A scenario written back as a TOML file, so that a sampled (or changed) scenario can be kept and replayed.

:func:`scenario_toml` writes every key of every section, defaults included, so the file
says everything the generator used; :func:`~.scenario.load_scenario` reads it back to an
equal :class:`~.scenario.Scenario`.
"""

from __future__ import annotations

import json
import math
from dataclasses import fields

from .scenario import Scenario

__all__ = ["scenario_toml", "write_scenario"]


def _value(value) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int):
        return str(value)
    if isinstance(value, float):
        if not math.isfinite(value):
            raise ValueError(f"a scenario value must be finite, got {value!r}")
        return repr(value)
    if isinstance(value, str):
        return json.dumps(value, ensure_ascii=False)
    if isinstance(value, (tuple, list)):
        return "[" + ", ".join(_value(v) for v in value) + "]"
    if isinstance(value, dict):
        return "{ " + ", ".join(f"{k} = {_value(v)}" for k, v in value.items()) + " }" if value else "{}"
    raise TypeError(f"cannot write {value!r} ({type(value).__name__}) to a scenario file")


def _keys(obj, skip=()) -> list[str]:
    return [f"{f.name} = {_value(getattr(obj, f.name))}" for f in fields(obj) if f.name not in skip]


def scenario_toml(scenario: Scenario) -> str:
    """The TOML text of ``scenario``: top-level keys, [population], [legit], [[banks]], [[rings]]."""
    lines = [f"name = {_value(scenario.name)}", f"description = {_value(scenario.description)}"]
    if scenario.sample_seed is not None:
        lines.append(f"sample_seed = {int(scenario.sample_seed)}")
    lines += ["", "[population]", *_keys(scenario.population), "", "[legit]", *_keys(scenario.legit)]
    for bank in scenario.banks:
        lines += ["", "[[banks]]", *_keys(bank)]
    for ring in scenario.rings:
        lines += ["", "[[rings]]", *_keys(ring)]
    return "\n".join(lines) + "\n"


def write_scenario(scenario: Scenario, path) -> None:
    """Write ``scenario`` to ``path`` as TOML."""
    from pathlib import Path

    Path(path).write_text(scenario_toml(scenario), encoding="utf-8")
