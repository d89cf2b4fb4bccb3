"""The jobs graphsleuth does, one function per command of the ``graphsleuth`` command line.

Each command is a short wrapper over the function of the same name here, with
the same docstring; everything the command can do, the function can do
through its parameters. :func:`generate`, :func:`evaluate` and :func:`load`
are their packages' own functions; :func:`detect` puts reading, detection,
Neo4j write-back, pseudonyms and writing together. The functions are silent
unless handed a :class:`~graphsleuth.progress.Progress` that shows.
"""

from __future__ import annotations

import os
import tempfile
from contextlib import ExitStack, contextmanager
from pathlib import Path

from .detection.clustering import DEFAULT_RESOLUTION
from .detection.findings import Findings
from .detection.scoring import FLAG_THRESHOLD, MIN_RING_SIZE
from .evidence import Evidence, read_evidence
from .ingest import ingest
from .interrupts import CtrlC
from .investigation import TrackedFindings, Verdict
from .progress import Progress
from .quality import evaluate
from .store import load
from .synth import generate

__all__ = ["detect", "evaluate", "generate", "ingest", "load", "verdict", "report", "indicators"]


def detect(
    data: str | Path | Evidence | None,
    out: str | Path | None = None,
    *,
    algorithm: str = "leiden",
    seed: int = 0,
    resolution: float = DEFAULT_RESOLUTION,
    min_size: int = MIN_RING_SIZE,
    threshold: float | None = FLAG_THRESHOLD,
    format: str = "csv",
    lenient: bool = False,
    pseudonymise: bool = False,
    pseudonym_key: bytes | str | None = None,
    neo4j: bool = False,
    from_neo4j: bool = False,
    browser_links: bool = True,
    previous: str | Path | None = None,
    as_of: str | None = None,
    force: bool = False,
    progress: Progress | None = None,
    logs: bool | None = False,
    engine: str = "embedded",
    spark_master: str | None = None,
    spark_conf: dict[str, str] | None = None,
) -> TrackedFindings:
    """Find suspected rings in DATA (an evidence directory, or request logs) and write them to OUT.

    Writes ``members``, ``rings.jsonl`` and ``clusters.jsonl`` (and
    ``templates.csv``, ``rejects.csv`` when there are any) to ``out``
    atomically: all of them, or nothing. ``data`` may also be an
    :class:`~graphsleuth.evidence.Evidence` already read; with
    ``from_neo4j`` the evidence graph is read from Neo4j instead. With
    ``neo4j`` the rings are written back to Neo4j too; ``browser_links``
    gives each ring a Neo4j Browser link that opens it; ``pseudonymise``
    replaces e-mails, IPs, card and link values in the output with keyed
    hashes (key: ``pseudonym_key`` or GRAPHSLEUTH_PSEUDONYM_KEY). With
    ``logs`` DATA holds request logs (as ``ingest`` reads them), ingested into
    a temporary evidence directory first; ``logs=None`` decides by looking
    (a directory of logs has no accounts table). The same input and seed
    give the same rings with the same ids.

    With ``previous`` (the output directory of an earlier run) a ring found
    again keeps its id, and every ring says when it was first and last seen and
    where it came from (its lineage); the earlier run's rings that are gone go
    to ``changes.jsonl`` with what became of their accounts; verdicts are
    carried (``verdicts.jsonl``, and with ``neo4j`` those set in the Browser):
    a dismissed ring is held back (``dismissed.jsonl``) unless it changed
    materially, and new accounts reusing a banned ring's evidence are its
    successors (``successors.csv``). ``run.json`` records the run: its data
    time ``as_of`` (the latest time in the evidence unless given), evidence,
    algorithm and seed.

    ``engine`` is ``embedded`` (this process) or ``spark``: the evidence graph, its
    division into pieces and their clustering on Apache Spark (``spark_master``, default
    the submitted session's or local[*]; ``spark_conf``, extra Spark settings), every
    other stage the same; it needs ``pip install 'graphsleuth[spark]'`` and Java 17 or 21.
    """
    from .atomic import check_output_dir
    from .export import pseudonym_key as key_of
    from .export import pseudonymise_findings, pseudonymise_rejects, write_findings
    from .investigation import follow_rings, given_time, read_previous_run, write_run_files

    progress = progress or Progress()
    rings_of, engine_session = _engine(engine, spark_master, spark_conf, progress)  # missing Spark or Java fails before any work
    key = key_of(pseudonym_key) if pseudonymise else None  # a missing key fails before any work
    if out is not None:
        check_output_dir(out, force)
    before = read_previous_run(previous) if previous is not None else None  # a bad --previous fails before any work too
    as_of = given_time(as_of)
    # A Ctrl-C that library code swallowed still stops the run before anything is written.
    with CtrlC() as ctrl_c, engine_session() as spark, _ingested(data, logs and not from_neo4j, lenient, progress, spark) as source:
        evidence = _evidence(source, from_neo4j, lenient, progress, spark)
        ctrl_c.check()
        on = {} if spark is None else {"spark": spark}
        findings = rings_of(
            evidence, algorithm=algorithm, seed=seed, resolution=resolution, min_size=min_size, threshold=threshold, progress=progress, **on
        )
        given = []
        if neo4j:
            from .store import read_verdicts_from_neo4j

            given = progress.step("reading verdicts from Neo4j", read_verdicts_from_neo4j)
        findings = progress.step(
            "following rings from the previous run" if before is not None else "dating rings",
            lambda: follow_rings(findings, evidence, before, as_of=as_of, verdicts=given, evidence_path=_evidence_path(data, evidence)),
        )
        if browser_links:
            findings = _with_browser_links(findings)
        ctrl_c.check()
        if neo4j:
            from .store import write_findings as write_to_neo4j

            summary = progress.step("writing rings to Neo4j", lambda: write_to_neo4j(findings))
            progress.note(summary.describe())
        if key is not None:
            evidence.rejects = pseudonymise_rejects(evidence.rejects, key)
            findings = pseudonymise_findings(findings, key)
            findings.pseudonymised = True
        ctrl_c.check()
        if out is not None:
            progress.step(
                "writing results",
                lambda: write_findings(
                    findings, out, format=format, evidence=evidence, force=force, also=lambda tmp: write_run_files(findings, tmp, key)
                ),
            )
    findings.rejects = evidence.rejects
    findings.stats.timings_s = dict(progress.timings)
    return findings


#: Where detection runs: in this process, or on Apache Spark.
ENGINES = ("embedded", "spark")


def _engine(engine: str, spark_master: str | None, spark_conf: dict[str, str] | None, progress: Progress):
    """The function that finds rings on ``engine`` and the session it runs in (a context manager; None for the embedded
    engine); for Spark, PySpark and Java are checked first."""
    from contextlib import nullcontext

    from .errors import GraphsleuthError

    if engine not in ENGINES:
        raise GraphsleuthError(f"--engine must be one of {', '.join(ENGINES)}, got {engine!r}")
    if engine == "embedded":
        if spark_master or spark_conf:
            raise GraphsleuthError("--spark-master and --spark-conf need --engine spark")
        from .detection.pipeline import find_rings

        return find_rings, lambda: nullcontext(None)
    from .spark.java import find_java, require_pyspark

    require_pyspark()
    from pyspark.sql import SparkSession

    if SparkSession.getActiveSession() is None and "PYSPARK_GATEWAY_PORT" not in os.environ:
        find_java()  # a JVM of our own will start: it needs Java 17 or 21 (a running one, Databricks' or spark-submit's, is used as it is)
    from functools import partial

    from .spark import SparkSettings, find_rings_spark, spark_session

    settings = SparkSettings(master=spark_master, conf=dict(spark_conf or {}))
    settings.piece_limits()  # a bad limit fails before Spark starts

    @contextmanager
    def session():
        with ExitStack() as stack:
            with progress.steps("starting Spark"):
                spark = stack.enter_context(spark_session(settings))
            yield spark

    return partial(find_rings_spark, settings=settings), session


def _evidence_path(data, evidence: Evidence) -> str:
    """Where the evidence came from, as run.json records it: an absolute directory, or the Neo4j database."""
    if isinstance(data, (str, Path)) and str(data) != "-" and Path(data).exists():
        return str(Path(data).resolve())
    return str(evidence.directory)


@contextmanager
def _ingested(data, logs: bool | None, lenient: bool, progress: Progress, spark=None):
    """``data`` as evidence: request logs are ingested into a temporary directory (removed after); on Spark when the
    Spark engine runs (but for ``lenient``, which lists rejected requests: that is ``graphsleuth ingest``'s)."""
    from .ingest import looks_like_logs

    if logs is None:
        logs = isinstance(data, (str, Path)) and looks_like_logs(data)
    if not logs:
        yield data
        return
    with tempfile.TemporaryDirectory(prefix="graphsleuth-evidence-") as scratch:
        out = Path(scratch) / "evidence"
        on_spark = spark is not None and not lenient
        if on_spark:
            from .spark.ingest import NeedsEmbeddedIngest, ingest_spark

            try:
                ingest_spark(spark, data, out, progress=progress)
            except NeedsEmbeddedIngest as why:
                progress.note(f"graphsleuth: {why}; ingesting there")
                on_spark = False
        if not on_spark:
            ingest(data, out, lenient=lenient, progress=progress)
        evidence = read_evidence(out, lenient=lenient)
        rejects = out / "rejects.csv"
        if rejects.exists():
            import pandas as pd

            evidence.rejects = pd.concat([pd.read_csv(rejects, dtype={"value": object}), evidence.rejects], ignore_index=True)
        yield evidence


def _evidence(data, from_neo4j: bool, lenient: bool, progress: Progress, spark=None) -> Evidence:
    if from_neo4j:
        from .store import read_evidence_from_neo4j

        return progress.step("reading the evidence graph from Neo4j", read_evidence_from_neo4j)
    if isinstance(data, Evidence):
        return data
    if spark is not None:
        from .spark.reading import is_uri, read_evidence_spark

        if is_uri(data):  # s3a://, abfss://, hdfs://, file://...: read by Spark, checked by the evidence reader's rules
            return progress.step("reading evidence with Spark", lambda: read_evidence_spark(spark, data, lenient=lenient))
    return progress.step("reading evidence", lambda: read_evidence(data, lenient=lenient))


def _with_browser_links(findings: Findings) -> Findings:
    from dataclasses import replace

    from .store import browser_link

    return replace(findings, rings=[replace(ring, browser_link=browser_link(ring.ring_id)) for ring in findings.rings])


def verdict(
    out: str | Path,
    ring_id: str,
    verdict: str,
    *,
    note: str = "",
    by: str | None = None,
    at: str | None = None,
) -> Verdict:
    """Record a verdict on ring RING_ID of the detect run in OUT: confirmed, dismissed or banned.

    Adds one record to ``out``/verdicts.jsonl: the ring's id, the verdict, when
    (``at``, default now), by whom (``by``, default the login name), the note,
    and the ring as it is in that run (its accounts, size, score, the run's data
    time). The next ``detect --previous OUT`` carries it: a dismissed ring is
    not flagged again unless it changes materially; a confirmed or banned ring
    stays tracked with its id, and new accounts reusing a banned ring's cards,
    BINs, proxies, devices or templates are reported as its successors.
    """
    from .investigation import record_verdict

    return record_verdict(out, ring_id, verdict, note=note, by=by, at=at)


def report(
    out: str | Path,
    report_file: str | Path,
    *,
    ring: str | None = None,
    top: int | None = None,
    pseudonymise: bool = False,
    pseudonym_key: bytes | str | None = None,
    evidence: Evidence | None = None,
) -> list[str]:
    """Write a case file for the rings of the detect run in OUT: one self-contained HTML page.

    Per ring (``ring``, or the ``top`` best, 10 by default): its score,
    verdict, lineage and explanation, its graph (its accounts and the evidence
    they share), its timeline (accounts created and requests per day), the
    evidence tables, its accounts, its successors when banned, and the Neo4j
    Browser link. Everything is inlined, so the page opens with no network.
    The evidence is read from where the run's run.json says (or ``evidence``);
    a pseudonymised run needs its key (``pseudonymise``). Returns the ring ids written.
    """
    from .export import pseudonym_key as key_of
    from .export import write_report

    key = key_of(pseudonym_key) if pseudonymise else None
    return write_report(out, report_file, ring=ring, top=top, evidence=evidence, key=key)


def indicators(
    out: str | Path,
    indicators_file: str | Path,
    *,
    ring: str | None = None,
    pseudonym_key: bytes | str | None = None,
    evidence: Evidence | None = None,
) -> int:
    """Write the rings of the detect run in OUT as shared indicators: a STIX 2.1 bundle (JSON).

    One Grouping (context suspicious-activity) per ring (or only ``ring``),
    described by the ring's explanation, over its indicators: the cards, BINs,
    IPs, subnets, templates and devices that two or more of its accounts share
    and that the ring's accounts make up at least half the users of. Every
    value is a keyed pseudonym (key: ``pseudonym_key`` or
    GRAPHSLEUTH_PSEUDONYM_KEY, as ``--pseudonymise`` takes it), so no personal
    data leaves and a partner with the same key can match them against its own
    traffic. Returns the number of rings written.
    """
    from .export import pseudonym_key as key_of
    from .export import write_indicators

    return write_indicators(out, indicators_file, key_of(pseudonym_key), ring=ring, evidence=evidence)
