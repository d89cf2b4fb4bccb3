"""The jobs graphsleuth does, one function per command of the ``graphsleuth`` command line.

Each command is a short wrapper over the function of the same name here, with
the same docstring; everything the command can do, the function can do
through its parameters. :func:`generate`, :func:`evaluate` and :func:`load`
are their packages' own functions; :func:`detect` puts reading, detection,
Neo4j write-back, pseudonyms and writing together. The functions are silent
unless handed a :class:`~graphsleuth.progress.Progress` that shows.
"""

from __future__ import annotations

import tempfile
from contextlib import contextmanager
from pathlib import Path

from .detection.clustering import DEFAULT_RESOLUTION
from .detection.findings import Findings
from .detection.scoring import FLAG_THRESHOLD, MIN_RING_SIZE
from .evidence import Evidence, read_evidence
from .ingest import ingest
from .interrupts import CtrlC
from .progress import Progress
from .quality import evaluate
from .store import load
from .synth import generate

__all__ = ["detect", "evaluate", "generate", "ingest", "load"]


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
    force: bool = False,
    progress: Progress | None = None,
    logs: bool | None = False,
) -> Findings:
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
    """
    from .atomic import check_output_dir
    from .detection.pipeline import find_rings
    from .export import pseudonym_key as key_of
    from .export import pseudonymise_findings, pseudonymise_rejects, write_findings

    progress = progress or Progress()
    key = key_of(pseudonym_key) if pseudonymise else None  # a missing key fails before any work
    if out is not None:
        check_output_dir(out, force)
    # A Ctrl-C that library code swallowed still stops the run before anything is written.
    with CtrlC() as ctrl_c, _ingested(data, logs and not from_neo4j, lenient, progress) as data:
        evidence = _evidence(data, from_neo4j, lenient, progress)
        ctrl_c.check()
        findings = find_rings(
            evidence, algorithm=algorithm, seed=seed, resolution=resolution, min_size=min_size, threshold=threshold, progress=progress
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
        ctrl_c.check()
        if out is not None:
            progress.step("writing results", lambda: write_findings(findings, out, format=format, evidence=evidence, force=force))
    findings.rejects = evidence.rejects
    findings.stats.timings_s = dict(progress.timings)
    return findings


@contextmanager
def _ingested(data, logs: bool | None, lenient: bool, progress: Progress):
    """``data`` as evidence: request logs are ingested into a temporary directory (removed after)."""
    from .ingest import looks_like_logs

    if logs is None:
        logs = isinstance(data, (str, Path)) and looks_like_logs(data)
    if not logs:
        yield data
        return
    with tempfile.TemporaryDirectory(prefix="graphsleuth-evidence-") as scratch:
        out = Path(scratch) / "evidence"
        ingest(data, out, lenient=lenient, progress=progress)
        evidence = read_evidence(out, lenient=lenient)
        rejects = out / "rejects.csv"
        if rejects.exists():
            import pandas as pd

            evidence.rejects = pd.concat([pd.read_csv(rejects, dtype={"value": object}), evidence.rejects], ignore_index=True)
        yield evidence


def _evidence(data, from_neo4j: bool, lenient: bool, progress: Progress) -> Evidence:
    if from_neo4j:
        from .store import read_evidence_from_neo4j

        return progress.step("reading the evidence graph from Neo4j", read_evidence_from_neo4j)
    if isinstance(data, Evidence):
        return data
    return progress.step("reading evidence", lambda: read_evidence(data, lenient=lenient))


def _with_browser_links(findings: Findings) -> Findings:
    from dataclasses import replace

    from .store import browser_link

    return replace(findings, rings=[replace(ring, browser_link=browser_link(ring.ring_id)) for ring in findings.rings])
