"""A whole synthetic population: built from a scenario and a seed, with its truth, and written to a directory.

:func:`generate` builds, from a scenario file and a seed, what an AI API
provider would see over a few weeks: legitimate individuals, households,
companies behind NAT, campuses, VPN / mobile-carrier / cloud egress IPs shared
by thousands of strangers, heavy users and API integrators, and planted
extraction rings ("hydra clusters") that try not to look like rings. It returns
the evidence tables (the input format of :mod:`graphsleuth.evidence`) and the
truth, and can write them to a directory.

Everything is vectorised with numpy and pyarrow; Faker only fills small pools
of names and company names that are then sampled with numpy. The same
scenario, seed and graphsleuth version give byte-identical files.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path

import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.csv as pacsv
import pyarrow.parquet as pq

from .. import __version__
from ..atomic import output_directory
from ..errors import GraphsleuthError
from .accounts import accounts_table
from .ips import ips_table
from .kinds import RING
from .links import links_table
from .payments import payments_table
from .plan import Streams, plan_population
from .prompts import prompts_table, template_catalogue
from .scenario import Scenario, load_scenario
from .traits import ring_traits
from .truth import truth_table

__all__ = ["SyntheticPopulation", "generate", "write_population", "write_log_bundle"]


@dataclass
class SyntheticPopulation:
    """A generated population: evidence tables, ground truth and a manifest.

    ``tables`` maps table names (accounts, payments, ips, prompts, links) to
    pyarrow Tables in the evidence format; ``truth`` holds one row per account
    (account_id, ring_id, kind, group_id, and campaign_id when the scenario has
    template banks); ``truth_prompts`` (raw mode only) holds the true template of
    each prompt row; ``ring_traits`` (truth_rings.json) each planted ring's traits.
    """

    scenario: Scenario
    seed: int
    tables: dict[str, pa.Table]
    truth: pa.Table
    truth_prompts: pa.Table | None
    manifest: dict
    ring_traits: dict | None = None

    def frame(self, name: str) -> pd.DataFrame:
        """One evidence table (or ``truth``) as a pandas DataFrame."""
        table = self.truth if name == "truth" else self.tables[name]
        return table.to_pandas()

    @property
    def ring_ids(self) -> list[str]:
        return [r.name for r in self.scenario.rings]


def generate(
    scenario: str | Path | Scenario | None = None,
    seed: int | None = None,
    out: str | Path | None = None,
    accounts: int | None = None,
    prompts: str = "template",
    format: str = "csv",
    force: bool = False,
    sample_seed: int | None = None,
    snapshots: int | None = None,
    every: str = "week",
    growth: float = 0.10,
    ban: str | None = None,
    ban_day: float | None = None,
    logs: bool = False,
) -> SyntheticPopulation:
    """Generate a population from ``scenario`` (a path, a bundled name or a Scenario; default demo),
    or from a scenario drawn with ``sample_seed`` (see :func:`~graphsleuth.synth.sample_scenario`).

    ``accounts`` rescales the scenario to that many accounts in all (rings in
    proportion), or for a sampled scenario is the size it is drawn at; ``seed``
    defaults to 0, or to the sample seed; ``prompts`` is ``template`` (template
    ids) or ``raw`` (prompt text, templates to be derived); with ``out`` the
    files are written there in ``format`` (csv or parquet), atomically, with
    truth.csv, truth_rings.json and manifest.json (and, for a sampled
    scenario, scenario.toml, which replays it with the same seed).

    With ``snapshots`` the population is followed over time and written as that
    many snapshots (``out``/snapshot-1, ...), ``every`` day or week apart, the
    first the population as generated: each step adds ``growth`` more accounts
    and activity (new legitimate accounts, new ring members; a new ring in the
    first step), and the ring ``ban`` (default: the largest) is banned ``ban_day``
    days after the first snapshot (default: just after the last snapshot but
    one) and replaced by waves of successors that reuse a share of its cards,
    proxies, devices and templates; truth.csv marks them in ``successor_of``.

    With ``logs`` the same population is written as request logs instead: ``logs/`` holds one
    Parquet file of requests per day (spread over time as the scenario's
    ``[logs]`` section says), beside the ``accounts`` and ``payments`` tables
    that logs do not carry (phones as an ``accounts`` column), ``truth.csv``
    and ``manifest.json``; ``graphsleuth ingest`` or ``detect --logs`` read it.
    """
    if prompts not in ("template", "raw"):
        raise GraphsleuthError(f"--prompts must be template or raw, got {prompts!r}")
    if format not in ("csv", "parquet"):
        raise GraphsleuthError(f"--format must be csv or parquet, got {format!r}")
    if sample_seed is not None:
        if scenario is not None:
            raise GraphsleuthError("give a scenario or a sample seed, not both")
        from .sampler import sample_scenario

        scn = sample_scenario(sample_seed, accounts)
        seed = sample_seed if seed is None else seed
    else:
        scenario = "demo" if scenario is None else scenario
        scn = scenario if isinstance(scenario, Scenario) else load_scenario(scenario)
        scn = scn.scaled(accounts)
        if seed is None and scn.sample_seed is not None:  # a sampled scenario's file replays with its own seed
            seed = scn.sample_seed
    seed = 0 if seed is None else seed
    if logs and snapshots is not None:
        raise GraphsleuthError("give --logs or --snapshots, not both")
    timeline = None
    if snapshots is not None:
        from .successors import STEPS, Timeline

        if every not in STEPS:
            raise GraphsleuthError(f"--every must be one of {', '.join(STEPS)}, got {every!r}")
        timeline = Timeline(snapshots=snapshots, every=STEPS[every], growth=growth, ban=ban, ban_day=ban_day)
        timeline.check()
    population = build_population(scn, seed, raw=prompts == "raw")
    if timeline is not None:
        from .successors import grow_population, write_snapshots

        grown = grow_population(population, timeline)
        if out is not None:
            write_snapshots(grown, out, format=format, force=force)
        population.manifest = {**population.manifest, "timeline": grown.events}
    elif out is not None and logs:
        write_log_bundle(population, out, force=force)
    elif out is not None:
        write_population(population, out, format=format, force=force)
    return population


def build_population(scenario: Scenario, seed: int, raw: bool = False) -> SyntheticPopulation:
    """The population of ``scenario`` drawn with ``seed``: its plan, then each table from it."""
    streams = Streams.from_seed(seed)
    plan = plan_population(scenario, seed, streams)
    catalogue = template_catalogue(plan, streams.tpl, streams.tooling)
    prompts = prompts_table(plan, catalogue, streams.prompt, raw=raw, streams=streams)
    tables = {
        "accounts": accounts_table(plan, streams.mail, streams.mail_more),
        "payments": payments_table(plan, streams.pay, streams.pay_more),
        "ips": ips_table(plan, streams.ip, streams.ip_more),
        "prompts": prompts.table,
        "links": links_table(plan, streams.link),
    }
    manifest = {
        "generator": "graphsleuth",
        "version": __version__,
        "scenario": scenario.name,
        "seed": int(seed),
        "prompts": "raw" if raw else "template",
        "accounts": int(plan.n),
        "ring_accounts": int((plan.kind == RING).sum()),
        "rings": {r.name: int((plan.ring == i).sum()) for i, r in enumerate(scenario.rings)},
        "rows": {name: t.num_rows for name, t in tables.items()},
        "requests": prompts.requests,
        "window": {"start": scenario.population.start, "days": scenario.population.days},
    }
    if scenario.sample_seed is not None:
        manifest["sample_seed"] = int(scenario.sample_seed)
    traits = ring_traits(plan, tables, prompts.rows, catalogue.tools)
    traits["version"] = __version__
    return SyntheticPopulation(scenario, int(seed), tables, truth_table(plan), prompts.truth, manifest, traits)


def write_population(population: SyntheticPopulation, out: str | Path, format: str = "csv", force: bool = False) -> Path:
    """Write the tables, truth.csv and manifest.json to ``out``, atomically.

    An existing non-empty ``out`` is replaced only with ``force``.
    """
    with output_directory(out, force) as tmp:
        for name, table in population.tables.items():
            _write_table(table, tmp / name, format)
        _write_table(population.truth, tmp / "truth", "csv")
        if population.truth_prompts is not None:
            _write_table(population.truth_prompts, tmp / "truth_prompts", "csv")
        if population.ring_traits is not None:
            (tmp / "truth_rings.json").write_text(json.dumps(population.ring_traits, indent=2) + "\n")
        if population.scenario.sample_seed is not None:
            from .scenario_toml import scenario_toml

            (tmp / "scenario.toml").write_text(scenario_toml(population.scenario), encoding="utf-8")
        (tmp / "manifest.json").write_text(json.dumps(population.manifest, indent=2, sort_keys=True) + "\n")
    return Path(out)


def write_log_bundle(population: SyntheticPopulation, out: str | Path, force: bool = False) -> Path:
    """Write the population as request logs (``logs/YYYY-MM-DD.parquet``) with its side tables, truth and manifest, atomically."""
    from .logs import write_logs

    with output_directory(out, force) as tmp:
        written = write_logs(population, tmp / "logs")
        accounts = population.tables["accounts"]
        links = population.tables["links"]
        phones = links.filter(pc.equal(links["kind"], "phone"))
        where = pc.index_in(accounts["account_id"], value_set=phones["account_id"].combine_chunks())
        accounts = accounts.append_column("phone", phones["value"].combine_chunks().take(where))
        _write_table(accounts, tmp / "accounts", "parquet")
        _write_table(population.tables["payments"], tmp / "payments", "parquet")
        _write_table(population.truth, tmp / "truth", "csv")
        if population.ring_traits is not None:
            (tmp / "truth_rings.json").write_text(json.dumps(population.ring_traits, indent=2) + "\n")
        manifest = dict(population.manifest)
        manifest["logs"] = {**written.to_dict(), "files": len(written.files)}
        (tmp / "manifest.json").write_text(json.dumps(manifest, indent=2, sort_keys=True) + "\n")
    return Path(out)


def _write_table(table: pa.Table, stem: Path, format: str) -> None:
    if format == "parquet":
        pq.write_table(table, stem.with_suffix(".parquet"), compression="zstd")
    else:
        pacsv.write_csv(table, stem.with_suffix(".csv"), write_options=pacsv.WriteOptions(quoting_style="needed"))
