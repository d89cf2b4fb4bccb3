"""Scenario files: the bundled ones describe what they claim, malformed ones fail in one line.

A malformed scenario must raise ScenarioError whose one-line message names the
file and the offending key; the CLI must print that line and exit non-zero
without a traceback. Random scenario files either load or raise ScenarioError,
and every file that loads can be generated.
"""

from __future__ import annotations

import json
import math
import subprocess
import sys
from dataclasses import fields
from pathlib import Path

import pytest
from click.testing import CliRunner
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from graphsleuth.cli import main
from graphsleuth.errors import ScenarioError
from graphsleuth.evidence import read_evidence
from graphsleuth.synth import generate
from graphsleuth.synth.scenario import (
    DISTILLATION_FAMILIES,
    LEGIT_KINDS,
    LOOKALIKE_KINDS,
    Legit,
    Population,
    RingPlan,
    Scenario,
    load_scenario,
)

REPO = Path(__file__).resolve().parents[2]

GOOD_RING = 'name = "r"\naccounts = 20\nrequests = 2000\n'


def _write(tmp_path: Path, text: str, name: str = "bad.toml") -> Path:
    path = tmp_path / name
    path.write_text(text, encoding="utf-8")
    return path


def _one_line_error(path: Path) -> ScenarioError:
    with pytest.raises(ScenarioError) as info:
        load_scenario(path)
    message = str(info.value)
    assert "\n" not in message, message
    assert str(path) in message, message
    return info.value


# --- the bundled scenarios ------------------------------------------------------------------


def test_bundled_scenarios_load_by_name_and_by_path():
    for name in ("demo", "hydra-2026"):
        by_name = load_scenario(name)
        by_path = load_scenario(REPO / "graphsleuth" / "synth" / "scenarios" / f"{name}.toml")
        assert by_name.name == by_path.name == name
        assert by_name.rings == by_path.rings


def test_hydra_2026_is_the_reported_campaign_at_full_scale():
    """The big scenario hides a ~25,000-account ring making ~28.8M requests over 42 days among >1M legitimate accounts."""
    scn = load_scenario("hydra-2026")
    legit = scn.population.accounts - scn.ring_accounts
    assert legit >= 1_000_000
    assert scn.population.days == 42
    biggest = max(scn.rings, key=lambda r: r.accounts)
    assert 24_000 <= biggest.accounts <= 26_000
    assert 28_000_000 <= biggest.requests <= 29_600_000
    # About 1,150 requests per account over six weeks: inside the heavy users' range, not absurd.
    assert 800 <= biggest.requests / biggest.accounts <= 1500
    # Scaled down for a test run, the proportions survive.
    small = scn.scaled(20_000)
    big_small = max(small.rings, key=lambda r: r.accounts)
    assert abs(big_small.accounts / 20_000 - biggest.accounts / scn.population.accounts) < 0.001
    assert abs(big_small.requests / big_small.accounts - biggest.requests / biggest.accounts) < 5


def test_demo_has_every_kind_and_several_ring_styles():
    scn = load_scenario("demo")
    assert set(scn.legit.shares()) == set(LEGIT_KINDS)
    # Every kind but the look-alike groups (off unless a scenario gives them a share).
    assert all(v > 0 for k, v in scn.legit.shares().items() if k not in LOOKALIKE_KINDS)
    assert all(v == 0 for k, v in scn.legit.shares().items() if k in LOOKALIKE_KINDS)
    assert len(scn.rings) >= 3
    assert {r.payment for r in scn.rings} >= {"shared_cards", "card_per_account", "none"}
    assert {r.proxies for r in scn.rings} == {"datacenter", "residential"}


# --- malformed files: one line naming file and key ---------------------------------------------


@pytest.mark.parametrize(
    "text, key, words",
    [
        pytest.param("[population]\naccounts = 5000\nacounts_typo = 3\n", "population.acounts_typo", "unknown key", id="unknown-key"),
        pytest.param("colour = 'red'\n", "colour", "unknown key", id="unknown-top-level-key"),
        pytest.param(f"[[rings]]\n{GOOD_RING}camuflage = 0.2\n", "rings[0].camuflage", "unknown key", id="unknown-ring-key"),
        pytest.param("[population]\naccounts = 'many'\n", "population.accounts", "whole number", id="wrong-type-int"),
        pytest.param("[population]\ngrowth = 'fast'\n", "population.growth", "number", id="wrong-type-float"),
        pytest.param("[legit]\ncompany_seats = 20\n", "legit.company_seats", "list", id="wrong-type-list"),
        pytest.param("name = 3\n", "name", "expected str", id="wrong-type-name"),
        pytest.param("[legit]\nvpn_share = 1.5\n", "legit.vpn_share", "share between 0 and 1", id="share-above-1"),
        pytest.param("[legit]\ncompany = -0.1\n", "legit.company", "share between 0 and 1", id="kind-share-negative"),
        pytest.param(
            f"[[rings]]\n{GOOD_RING}camouflage = 2.0\n", "rings[0].camouflage", "share between 0 and 1", id="camouflage-out-of-range"
        ),
        pytest.param("[[rings]]\nname = 'r'\naccounts = 5\nrequests = 2000\n", "rings[0].accounts", "from 12", id="ring-too-few-accounts"),
        pytest.param(
            f"[[rings]]\n{GOOD_RING}templates = {{ cot = 2, poetry = 1 }}\n",
            "rings[0].templates.poetry",
            "unknown template family",
            id="bad-template-family",
        ),
        pytest.param(f"[[rings]]\n{GOOD_RING}templates = {{ cot = 0 }}\n", "rings[0].templates", "at least one", id="no-templates"),
        pytest.param("[[rings]]\nname = 'r'\naccounts = 20\n", "rings[0].requests", "missing required key", id="missing-requests"),
        pytest.param("[[rings]]\naccounts = 20\nrequests = 200\n", "rings[0].name", "missing required key", id="missing-name"),
        pytest.param(f"[[rings]]\n{GOOD_RING}payment = 'bitcoin'\n", "rings[0].payment", "shared_cards", id="bad-choice"),
        pytest.param("[population]\nstart = 'last tuesday'\n", "population.start", "ISO-8601", id="bad-start"),
        pytest.param("[population]\naccounts = 30\n", "population.accounts", "at least 50", id="too-few-accounts"),
        pytest.param("[legit]\ncompany_seats = [300, 20]\n", "legit.company_seats", "low <= high", id="range-reversed"),
        pytest.param(f"[[rings]]\n{GOOD_RING}\n[[rings]]\n{GOOD_RING}", "rings.name", "unique", id="duplicate-ring-names"),
        pytest.param(
            "[population]\naccounts = 100\n[[rings]]\nname = 'r'\naccounts = 80\nrequests = 100\n",
            "population.accounts",
            "more than half",
            id="rings-too-big",
        ),
        pytest.param("rings = 3\n", "rings", "array of tables", id="rings-not-a-list"),
        pytest.param("population = 3\n", "population", "table", id="section-not-a-table"),
    ],
)
def test_malformed_scenario_names_file_and_key(tmp_path, text, key, words):
    err = _one_line_error(_write(tmp_path, text))
    assert err.key == key
    assert f"key {key}" in str(err)
    assert words in str(err)


@pytest.mark.parametrize(
    "text",
    [
        pytest.param("[population\naccounts = 5000\n", id="unclosed-table"),
        pytest.param("name = \n", id="missing-value"),
        pytest.param("accounts = 5000\naccounts = 6000\n", id="duplicate-key"),
    ],
)
def test_invalid_toml_is_one_line_naming_the_file(tmp_path, text):
    err = _one_line_error(_write(tmp_path, text))
    assert "not valid TOML" in str(err)
    assert "line" in str(err)  # says where, so the user can open the file at the right place


def test_binary_file_is_a_scenario_error(tmp_path):
    path = tmp_path / "bad.toml"
    path.write_bytes(b"\xff\xfe\x00name = 1")
    _one_line_error(path)


def test_missing_scenario_file_names_it(tmp_path):
    err = _one_line_error(tmp_path / "nowhere.toml")
    assert "no such scenario" in str(err)


@pytest.mark.parametrize(
    "text, key",
    [
        # Values the checks used to accept but the generator could not use.
        pytest.param("[legit]\ncompany_seats = [0, 30]\n", "legit.company_seats", id="zero-seat-companies"),
        pytest.param("[legit]\ncampus_size = [0, 0]\n", "legit.campus_size", id="empty-campuses"),
        pytest.param("[legit]\ncompany_nat_ips = [0, 0]\n", "legit.company_nat_ips", id="companies-without-ips"),
        pytest.param(
            "[legit]\nindividual = 0.0\nhousehold = 0.0\ncompany = 0.0\ncampus = 0.0\nheavy = 0.0\nintegrator = 0.0\n",
            "legit",
            id="all-shares-zero",
        ),
        pytest.param(f"[[rings]]\n{GOOD_RING}countries = 30\n", "rings[0].countries", id="more-countries-than-known"),
        pytest.param("[population]\nstart = '0001-01-01T00:00:00Z'\n", "population.start", id="start-in-year-1"),
        pytest.param("[population]\nstart = '9999-12-01T00:00:00Z'\n", "population.start", id="start-in-year-9999"),
    ],
)
def test_values_the_generator_cannot_use_are_rejected_on_load(tmp_path, text, key):
    err = _one_line_error(_write(tmp_path, "[population]\naccounts = 400\n" + text if "[population]" not in text else text))
    assert err.key == key


def test_cli_reports_a_bad_scenario_in_one_line_without_traceback(tmp_path):
    bad = _write(tmp_path, "[legit]\nvpn_share = 7\n")
    result = CliRunner().invoke(main, ["generate", "--scenario", str(bad), "--seed", "1", "--out", str(tmp_path / "out")])
    assert result.exit_code != 0
    assert isinstance(result.exception, SystemExit)  # not an uncaught error
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1, result.stderr
    assert str(bad) in lines[0] and "legit.vpn_share" in lines[0]
    assert "Traceback" not in result.output
    assert not (tmp_path / "out").exists()


def test_cli_subprocess_bad_scenario_exits_non_zero_with_one_stderr_line(tmp_path):
    bad = _write(tmp_path, "[[rings]]\nname = 'r'\naccounts = 20\nrequests = 100\ntemplates = { haiku = 3 }\n")
    proc = subprocess.run(
        [sys.executable, "-m", "graphsleuth", "generate", "--scenario", str(bad), "--out", str(tmp_path / "out")],
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert proc.returncode != 0
    assert proc.stdout == ""
    lines = proc.stderr.strip().splitlines()
    assert len(lines) == 1, proc.stderr
    assert "Traceback" not in proc.stderr
    assert str(bad) in lines[0] and "rings[0].templates.haiku" in lines[0]


def test_cli_invalid_toml_exits_non_zero_with_one_line(tmp_path):
    bad = _write(tmp_path, "[population\n")
    result = CliRunner().invoke(main, ["generate", "--scenario", str(bad), "--out", str(tmp_path / "out")])
    assert result.exit_code != 0
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and str(bad) in lines[0] and "not valid TOML" in lines[0]


# --- fuzzing: random scenario files load or raise ScenarioError, nothing else ------------------


def _toml(value) -> str:
    """A TOML literal for a value of the kinds the strategies below produce."""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int):
        return str(value)
    if isinstance(value, float):
        if math.isnan(value):
            return "nan"
        if math.isinf(value):
            return "inf" if value > 0 else "-inf"
        return repr(value)
    if isinstance(value, str):
        return json.dumps(value)
    if isinstance(value, list):
        return "[" + ", ".join(_toml(v) for v in value) + "]"
    if isinstance(value, dict):
        return "{" + ", ".join(f"{json.dumps(k)} = {_toml(v)}" for k, v in value.items()) + "}"
    raise TypeError(value)


def _document(doc: dict) -> str:
    """Top-level keys, then [population] / [legit] tables, then [[rings]]."""
    tables = {k for k in ("population", "legit") if isinstance(doc.get(k), dict)}
    ring_tables = isinstance(doc.get("rings"), list) and all(isinstance(r, dict) for r in doc["rings"]) and doc["rings"]
    if ring_tables:
        tables.add("rings")
    lines = [f"{json.dumps(k)} = {_toml(v)}" for k, v in doc.items() if k not in tables]
    for section in ("population", "legit"):
        if section in tables:
            lines.append(f"[{section}]")
            lines += [f"{json.dumps(k)} = {_toml(v)}" for k, v in doc[section].items()]
    if ring_tables:
        for ring in doc["rings"]:
            lines.append("[[rings]]")
            lines += [f"{json.dumps(k)} = {_toml(v)}" for k, v in ring.items()]
    return "\n".join(lines) + "\n"


_TEXT = st.text(alphabet=st.characters(blacklist_categories=("Cs",)), max_size=12)
_JUNK = st.one_of(
    st.booleans(),
    st.integers(-(10**12), 10**12),
    st.floats(allow_nan=True, allow_infinity=True),
    _TEXT,
    st.lists(st.integers(-5, 50), max_size=4),
    st.lists(_TEXT, max_size=2),
    st.dictionaries(_TEXT, st.integers(-2, 5), max_size=3),
)


def _plausible(name: str, default):
    """Values mostly inside, sometimes just outside, the valid range of a field."""
    if isinstance(default, bool):
        return st.booleans()
    if isinstance(default, int):
        high = max(30, 3 * default) if default < 10_000 else 5000
        return st.integers(1, high) | st.integers(-2, high)
    if isinstance(default, float):
        return (
            (st.floats(0.0, 1.0) | st.floats(-0.2, 1.3)) if default <= 1 else (st.floats(0.5, 3 * default) | st.floats(-1.0, 3 * default))
        )
    if isinstance(default, tuple):
        if len(default) == 2 and name != "sync_days":
            pairs = st.tuples(st.integers(1, 60), st.integers(0, 60)).map(lambda p: [p[0], p[0] + p[1]])
            return pairs | st.lists(st.integers(-1, 60), max_size=3)
        return st.lists(st.integers(-1, 60), min_size=0, max_size=4)
    if isinstance(default, dict):
        return st.dictionaries(st.sampled_from(DISTILLATION_FAMILIES + ("poetry",)), st.integers(-1, 4), max_size=4)
    if name == "start":
        return st.sampled_from(
            [
                "2026-02-02T00:00:00Z",
                "2026-02-02",
                "2026-13-01",
                "0001-01-01T00:00:00Z",
                "9999-12-30T00:00:00Z",
                "2026-02-02T00:00:00+05:30",
            ]
        )
    if name == "payment":
        return st.sampled_from(["shared_cards", "card_per_account", "none", "cash"])
    if name == "proxies":
        return st.sampled_from(["datacenter", "residential", "tor"])
    return _TEXT


def _table(cls, required: dict | None = None, junk: bool = True, **overrides):
    """Tables of some of ``cls``'s keys (and, with ``junk``, unknown keys and values of any type)."""
    defaults = cls(**required) if required else cls()
    names = [f.name for f in fields(cls)] + (["bogus_key"] if junk else [])
    values = {f.name: _plausible(f.name, getattr(defaults, f.name)) for f in fields(cls)}
    values.update(overrides)
    if junk:
        values = {k: st.one_of(v, _JUNK) for k, v in values.items()}
        values["bogus_key"] = _JUNK

    @st.composite
    def build(draw):
        keys = draw(st.lists(st.sampled_from(names), unique=True, max_size=6))
        return {k: draw(values[k]) for k in keys}

    return build()


def _ring(junk: bool):
    maybe = (lambda s: st.one_of(s, _JUNK)) if junk else (lambda s: s)
    return st.builds(
        lambda base, extra, drop: {k: v for k, v in {**base, **extra}.items() if k not in drop},
        st.fixed_dictionaries(
            {
                "name": maybe(st.sampled_from(["a", "b", "c"])),
                "accounts": maybe(st.integers(5, 60)),
                "requests": maybe(st.integers(1, 20_000)),
            }
        ),
        _table(
            RingPlan,
            {"name": "x", "accounts": 12, "requests": 12},
            junk=junk,
            name=st.just("x"),
            accounts=st.integers(10, 60),
            requests=st.integers(1, 20_000),
            proxy_ips=st.integers(-1, 300),
            cards=st.integers(-1, 300),
            devices=st.integers(-1, 50),
            phones=st.integers(-1, 50),
            creation_bursts=st.integers(-1, 50),
            countries=st.integers(-1, 25),
        ),
        st.sets(st.sampled_from(["name", "accounts", "requests"]), max_size=1 if junk else 0),
    )


def _documents(junk: bool):
    maybe = (lambda s: st.one_of(s, _JUNK)) if junk else (lambda s: s)
    optional = {
        "name": maybe(_TEXT),
        "description": maybe(_TEXT),
        "population": maybe(_table(Population, junk=junk, accounts=st.integers(-1, 2500))),
        "legit": maybe(_table(Legit, junk=junk)),
        "rings": maybe(st.lists(_ring(junk), max_size=3)),
    }
    if junk:
        optional["extra"] = _JUNK
    return st.fixed_dictionaries({}, optional=optional)


#: Any document: unknown keys, values of any type.
_DOCUMENT = _documents(junk=True)
#: Documents of known keys with values near their valid ranges: many load, some just fail a check.
_NEAR_VALID = _documents(junk=False)
_FUZZ = settings(max_examples=150, deadline=None, suppress_health_check=list(HealthCheck))


@_FUZZ
@given(doc=_DOCUMENT | _NEAR_VALID)
def test_random_scenario_files_load_or_raise_scenario_error(tmp_path_factory, doc):
    path = tmp_path_factory.mktemp("fuzz") / "scenario.toml"
    path.write_text(_document(doc), encoding="utf-8")
    try:
        scn = load_scenario(path)
    except ScenarioError as exc:
        assert "\n" not in str(exc) and str(path) in str(exc)
        return
    assert isinstance(scn, Scenario)
    assert scn.ring_accounts <= 0.5 * scn.population.accounts
    assert all(r.accounts >= 12 and r.requests >= r.accounts for r in scn.rings)


@_FUZZ
@given(data=st.binary(max_size=200) | st.text(max_size=200).map(lambda t: t.encode("utf-8", "surrogatepass")))
def test_arbitrary_bytes_load_or_raise_scenario_error(tmp_path_factory, data):
    path = tmp_path_factory.mktemp("bytes") / "scenario.toml"
    path.write_bytes(data)
    try:
        load_scenario(path)
    except ScenarioError as exc:
        assert "\n" not in str(exc) and str(path) in str(exc)


@settings(max_examples=25, deadline=None, suppress_health_check=list(HealthCheck))
@given(doc=_NEAR_VALID, seed=st.integers(0, 2**31))
def test_every_scenario_that_loads_generates_valid_evidence(tmp_path_factory, doc, seed):
    """A scenario the checks accept never crashes the generator and always gives readable evidence."""
    path = tmp_path_factory.mktemp("gen") / "scenario.toml"
    path.write_text(_document(doc), encoding="utf-8")
    try:
        scn = load_scenario(path)
    except ScenarioError:
        return
    accounts = None if scn.population.accounts <= 3000 else 600
    out = path.parent / "out"
    try:
        population = generate(scn, seed=seed, out=out, accounts=accounts)
    except ScenarioError as exc:  # e.g. --accounts too small for the rings: reported, never a crash
        assert "\n" not in str(exc)
        return
    evidence = read_evidence(out)
    assert len(evidence.accounts) == population.manifest["accounts"]


# --- the later keys: banks, ring behaviours, look-alike groups --------------------------------

BANK = '[[banks]]\nname = "kit"\ntemplates = { cot = 3 }\n'


@pytest.mark.parametrize(
    "text, key, words",
    [
        pytest.param(f"[[rings]]\n{GOOD_RING}bank = 'nowhere'\n", "rings[0].bank", "no bank named", id="unknown-bank"),
        pytest.param(
            f"{BANK}[[rings]]\n{GOOD_RING}bank = 'kit'\nbank_templates = 9\n", "rings[0].bank_templates", "has 3", id="bank-too-small"
        ),
        pytest.param(f"[[rings]]\n{GOOD_RING}bank_templates = 2\n", "rings[0].bank_templates", "only with bank", id="bank-templates-alone"),
        pytest.param(f"[[rings]]\n{GOOD_RING}templates = {{}}\n", "rings[0].templates", "at least one", id="no-templates-no-bank"),
        pytest.param(f"{BANK}{BANK}", "banks.name", "unique", id="duplicate-banks"),
        pytest.param(
            '[[banks]]\nname = "r"\ntemplates = { cot = 1 }\n' + f"[[rings]]\n{GOOD_RING}",
            "banks[0].name",
            "ring's name",
            id="bank-named-like-ring",
        ),
        pytest.param('[[banks]]\nname = "kit"\ntemplates = { cot = 0 }\n', "banks[0].templates", "at least one", id="empty-bank"),
        pytest.param('[[banks]]\nname = "kit"\nflavour = 1\n', "banks[0].flavour", "unknown key", id="bank-unknown-key"),
        pytest.param("[[banks]]\ntemplates = { cot = 1 }\n", "banks[0].name", "missing required key", id="bank-without-name"),
        pytest.param(
            '[[banks]]\nname = "kit"\npower_users = 2.0\n', "banks[0].power_users", "share between 0 and 1", id="power-users-share"
        ),
        pytest.param("banks = 3\n", "banks", "array of tables", id="banks-not-a-list"),
        pytest.param(
            f"[[rings]]\n{GOOD_RING}dressed_as_company = 'yes'\n", "rings[0].dressed_as_company", "true or false", id="bool-as-text"
        ),
        pytest.param(f"[[rings]]\n{GOOD_RING}bin_source = 'gold'\n", "rings[0].bin_source", "popular", id="bad-bin-source"),
        pytest.param(f"[[rings]]\n{GOOD_RING}proxies = 'tor'\n", "rings[0].proxies", "mixed", id="bad-proxies"),
        pytest.param(f"[[rings]]\n{GOOD_RING}creation = 'slowly'\n", "rings[0].creation", "even", id="bad-creation"),
        pytest.param(f"[[rings]]\n{GOOD_RING}schedule = 'weekends'\n", "rings[0].schedule", "night", id="bad-schedule"),
        pytest.param(f"[[rings]]\n{GOOD_RING}creation_days = 0.0\n", "rings[0].creation_days", "from 0.02", id="creation-days-zero"),
        pytest.param(f"[[rings]]\n{GOOD_RING}phrasings = 0\n", "rings[0].phrasings", "from 1", id="no-phrasing"),
        pytest.param(f"[[rings]]\n{GOOD_RING}proxy_overlap = 1.5\n", "rings[0].proxy_overlap", "share between 0 and 1", id="overlap-share"),
        pytest.param(f"[[rings]]\n{GOOD_RING}wave_hours = 0.0\n", "rings[0].wave_hours", "from 0.05", id="wave-of-no-width"),
        pytest.param("[legit]\nclassroom = 1.5\n", "legit.classroom", "share between 0 and 1", id="classroom-share"),
        pytest.param("[legit]\nhackathon_size = [0, 10]\n", "legit.hackathon_size", "1 <= low", id="empty-hackathon"),
        pytest.param("[legit]\nstarter_kit_users = -0.1\n", "legit.starter_kit_users", "share between 0 and 1", id="starter-kit-share"),
        pytest.param("[population]\ndiurnal = 1\n", "population.diurnal", "true or false", id="diurnal-as-number"),
        pytest.param("sample_seed = 'x'\n", "sample_seed", "expected int", id="sample-seed-text"),
    ],
)
def test_malformed_later_keys_name_file_and_key(tmp_path, text, key, words):
    err = _one_line_error(_write(tmp_path, text))
    assert err.key == key
    assert words in str(err)


def test_a_scenario_with_every_later_key_loads_and_keeps_earlier_defaults(tmp_path):
    text = (
        "[population]\naccounts = 3000\ndiurnal = true\n[legit]\nclassroom = 0.02\nhackathon = 0.01\n"
        f"{BANK}[[rings]]\n{GOOD_RING}templates = {{}}\nbank = 'kit'\ncreation = 'even'\ncreation_days = 0.5\n"
        "dressed_as_company = true\nproxies = 'none'\nbin_source = 'rare'\nschedule = 'night'\nwaves = 4\nphrasings = 3\n"
    )
    scn = load_scenario(_write(tmp_path, text, "good.toml"))
    ring = scn.rings[0]
    assert scn.uses_campaigns and scn.campaign_of(ring) == "kit"
    assert (ring.creation, ring.dressed_as_company, ring.proxies, ring.schedule, ring.waves) == ("even", True, "none", "night", 4)
    # Keys left out keep the defaults that reproduce earlier populations.
    default = RingPlan(name="x", accounts=12, requests=12)
    assert (default.creation, default.bin_source, default.proxy_overlap, default.waves, default.schedule, default.phrasings) == (
        "bursts",
        "prepaid",
        0.7,
        0,
        "round_the_clock",
        1,
    )
    assert not load_scenario("demo").uses_campaigns
