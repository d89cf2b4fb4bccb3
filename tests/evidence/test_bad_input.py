"""Bad input: one clear line naming file, row and column; nothing written; nothing dropped silently.

The corpus in tests/corpus/ (written by tests/corpus/make_corpus.py) holds one
directory per broken input and its ``expect.json``. Every case goes through the
library (``InputError`` with ``.file``, ``.row``, ``.column``) and through the
command line (``graphsleuth detect DIR --out OUT`` in a subprocess: non-zero
exit, exactly one stderr line, no traceback, OUT not created). ``--lenient``
keeps every good row and accounts for every bad one in rejects.csv. Property
tests feed random rows to every table's parser.
"""

from __future__ import annotations

import csv
import ipaddress
import json
import os
import re
import shutil
import subprocess
import sys
from concurrent.futures import ThreadPoolExecutor
from datetime import datetime
from pathlib import Path

import pandas as pd
import pyarrow.parquet as pq
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from graphsleuth.errors import InputError
from graphsleuth.evidence import MAX_ID_CHARS, MAX_TEXT_CHARS, TABLES, read_evidence

CORPUS = Path(__file__).resolve().parent / "corpus"
REPO = CORPUS.parents[2]
CASES = sorted(p.name for p in CORPUS.iterdir() if (p / "expect.json").exists())
#: Cases where the whole file is unusable, so even --lenient stops (nothing would be dropped silently).
WHOLE_FILE = {"unclosed_quote", "malformed_row_not_utf8"}


def _expect(case: str) -> dict:
    return json.loads((CORPUS / case / "expect.json").read_text(encoding="utf-8"))


BAD = [c for c in CASES if not _expect(c).get("ok")]
GOOD = [c for c in CASES if _expect(c).get("ok")]


def cli(*args: str, env: dict | None = None, timeout: float = 120) -> subprocess.CompletedProcess:
    """Run ``python -m graphsleuth ARGS`` as a user would, capturing both streams."""
    return subprocess.run(
        [sys.executable, "-m", "graphsleuth", *args],
        capture_output=True,
        text=True,
        env={**os.environ, **(env or {})},
        timeout=timeout,
        cwd=REPO,
    )


def error_lines(stderr: str) -> list[str]:
    """Every line on stderr: a run stopped by bad input must leave exactly one, its error (no progress line)."""
    return stderr.splitlines()


def _leftovers(parent: Path) -> list[str]:
    return [p.name for p in parent.iterdir() if ".partial." in p.name or ".old." in p.name]


def test_corpus_is_in_sync_with_its_generator(tmp_path):
    sys.path.insert(0, str(CORPUS))
    try:
        import make_corpus
    finally:
        sys.path.remove(str(CORPUS))
    names = make_corpus.write(tmp_path)
    assert sorted(names) == CASES
    for name in names:
        for file in (tmp_path / name).iterdir():
            assert file.read_bytes() == (CORPUS / name / file.name).read_bytes(), f"{name}/{file.name}: run tests/corpus/make_corpus.py"


# --- the corpus through the library ----------------------------------------------------------------


@pytest.mark.parametrize("case", BAD)
def test_strict_reader_names_file_row_and_column(case):
    expect = _expect(case)
    with pytest.raises(InputError) as info:
        read_evidence(CORPUS / case)
    err = info.value
    assert Path(err.file).name == expect["file"], str(err)
    assert (err.row, err.column) == (expect["row"], expect["column"]), str(err)
    message = str(err)
    assert "\n" not in message and "\r" not in message
    assert re.search(expect["match"], message), message
    assert message.startswith(err.file)
    if err.row is not None:
        assert f"row {err.row}" in message
    if err.column is not None:
        assert f"column {err.column}" in message


@pytest.mark.parametrize("case", GOOD)
def test_harmless_variants_are_accepted(case):
    evidence = read_evidence(CORPUS / case)
    assert len(evidence.accounts) == _expect(case)["accounts"]
    assert list(evidence.accounts.columns)[0] == "account_id"  # a UTF-8 BOM does not stick to the first name
    assert evidence.accounts["account_id"].iloc[0] in ("a1", "a0")
    if case == "ok_multiline_prompt":
        assert evidence.prompts["prompt"].tolist() == ["line one\nline two, with a comma", 'say "hi"']


def _enormous(tmp_path: Path, what: str) -> Path:
    folder = tmp_path / what
    folder.mkdir()
    accounts = "account_id,email\na1,a1@mail.test\n"
    if what == "enormous_text":
        (folder / "prompts.csv").write_text("account_id,prompt\na1,short\na1," + "x" * (MAX_TEXT_CHARS + 50_000) + "\n")
    elif what == "enormous_id":
        accounts += "a" * (1 << 20) + ",big@mail.test\n"
    (folder / "accounts.csv").write_text(accounts)
    return folder


@pytest.mark.parametrize(
    "what,file,row,column",
    [
        ("enormous_text", "prompts.csv", 2, "prompt"),
        ("enormous_id", "accounts.csv", 2, "account_id"),
    ],
)
def test_enormous_fields_are_refused_by_row(tmp_path, what, file, row, column):
    with pytest.raises(InputError) as info:
        read_evidence(_enormous(tmp_path, what))
    assert (info.value.file, info.value.row, info.value.column) == (file, row, column)
    assert "longer than" in str(info.value) and len(str(info.value)) < 400  # the value is shortened in the message


def test_a_file_instead_of_a_directory(tmp_path):
    path = tmp_path / "accounts.csv"
    path.write_text("account_id\na1\n")
    with pytest.raises(InputError, match="not a directory"):
        read_evidence(path)


# --- the corpus through the command line --------------------------------------------------------------


def cli_in_process(*args: str) -> subprocess.CompletedProcess:
    """``graphsleuth ARGS`` through click's test runner, in this process: the command line's own error
    handling, a fraction of a second instead of a new interpreter's start. An exception that escaped
    the command shows as a traceback on stderr, as it would on a terminal."""
    import traceback

    from click.testing import CliRunner

    from graphsleuth.cli import main

    result = CliRunner().invoke(main, list(args))
    stderr = result.stderr
    if result.exception is not None and not isinstance(result.exception, SystemExit):
        stderr += "Traceback (most recent call last):\n" + "".join(traceback.format_exception(result.exception))
    return subprocess.CompletedProcess(["graphsleuth", *args], result.exit_code, result.stdout, stderr)


@pytest.fixture(scope="module")
def cli_runs(tmp_path_factory):
    """``graphsleuth detect CASE --out OUT`` for every bad case (in process: the cases that must leave
    exactly one line on stderr run as a real process below)."""
    root = tmp_path_factory.mktemp("cli")
    extra = {}
    for what in ("enormous_text", "enormous_id"):
        extra[what] = _enormous(root, what)
    not_a_dir = root / "plain-file"
    not_a_dir.write_text("account_id\na1\n")
    extra["not_a_directory"] = not_a_dir
    targets = {case: CORPUS / case for case in BAD} | extra

    runs = {}
    for case, data in targets.items():
        out = root / "out" / case / "rings"
        out.parent.mkdir(parents=True)
        runs[case] = (cli_in_process("detect", str(data), "--out", str(out)), out)
    return runs


def test_cli_bad_input_is_one_line_non_zero_and_writes_nothing(cli_runs):
    problems = []
    for case, (done, out) in sorted(cli_runs.items()):
        lines = error_lines(done.stderr)
        expect = _expect(case) if case in BAD else {}
        checks = {
            "exit code 3": done.returncode == 3,
            "one stderr line": len(lines) == 1,
            "no traceback": "Traceback" not in done.stderr,
            "nothing on stdout": done.stdout == "",
            "no output directory": not out.exists(),
            "no partial directory": not _leftovers(out.parent),
        }
        if lines and expect:
            line = lines[0]
            checks["names the file"] = expect["file"] in line
            checks["names the row"] = expect["row"] is None or f"row {expect['row']}" in line
            checks["names the column"] = expect["column"] is None or f"column {expect['column']}" in line
            checks["says what was expected"] = re.search(expect["match"], line) is not None
            checks["starts graphsleuth: error:"] = line.startswith("graphsleuth: error: ")
        failed = [name for name, ok in checks.items() if not ok]
        if failed:
            problems.append(f"{case}: {failed}: rc={done.returncode} stderr={done.stderr[-300:]!r}")
    assert not problems, "\n".join(problems)
    assert len(cli_runs) == len(BAD) + 3


#: Bad inputs found at different points of reading: a missing file, a missing column, a bad value, an
#: account unknown to accounts (checked across tables), a binary file, a damaged gzip, a wrong Parquet schema.
ONE_LINE_CASES = [
    "missing_accounts_file",
    "missing_column",
    "bad_timestamp",
    "unknown_account",
    "binary_garbage",
    "gzip_truncated",
    "parquet_wrong_schema",
]


@pytest.mark.parametrize("quiet", [False, True], ids=["with-progress", "quiet"])
@pytest.mark.parametrize("command", ["detect", "load"])
def test_cli_bad_input_leaves_exactly_one_stderr_line(tmp_path, command, quiet):
    """Not a progress line and then the error: the error alone, with or without -q, for detect and load."""

    def run(case):
        out = tmp_path / case / "rings"
        args = [command, str(CORPUS / case), *(["--out", str(out)] if command == "detect" else []), *(["-q"] if quiet else [])]
        return case, cli(*args), out

    with ThreadPoolExecutor(max_workers=max(2, min(4, os.cpu_count() or 2))) as pool:
        results = list(pool.map(run, ONE_LINE_CASES))
    problems = []
    for case, done, out in results:
        lines = done.stderr.splitlines()
        if not (
            done.returncode == 3
            and len(lines) == 1
            and lines[0].startswith("graphsleuth: error: ")
            and _expect(case)["file"] in lines[0]
            and done.stdout == ""
            and not out.exists()
        ):
            problems.append(f"{case}: rc={done.returncode} stdout={done.stdout[-200:]!r} stderr={done.stderr[-400:]!r}")
    assert not problems, "\n".join(problems)


def _screen(text: str) -> list[str]:
    """The lines a terminal shows once ``text`` has been written to it (pyte, a VT100 emulator, draws it)."""
    import pyte

    screen = pyte.Screen(200, 50)
    stream = pyte.Stream(screen)
    stream.feed(text.replace("\n", "\r\n") if "\r\n" not in text else text)
    return [line.rstrip() for line in screen.display if line.strip()]


def _stderr_on_a_terminal(*args: str) -> tuple[int, str]:
    """Run ``graphsleuth ARGS`` with stderr on a pseudo-terminal; its exit code and everything it wrote there."""
    import pty

    master, slave = pty.openpty()
    try:
        proc = subprocess.Popen(
            [sys.executable, "-m", "graphsleuth", *args], stdout=subprocess.DEVNULL, stderr=slave, cwd=REPO, env=dict(os.environ)
        )
    finally:
        os.close(slave)
    chunks = []
    while True:
        try:
            chunk = os.read(master, 4096)
        except OSError:  # EIO: the child closed its side
            break
        if not chunk:
            break
        chunks.append(chunk)
    os.close(master)
    return proc.wait(timeout=120), b"".join(chunks).decode("utf-8")


def test_cli_bad_input_on_a_terminal_shows_one_line(tmp_path):
    """On a terminal the progress line shows while the evidence is read, and is erased when it is bad."""
    code, written = _stderr_on_a_terminal("detect", str(CORPUS / "bad_timestamp"), "--out", str(tmp_path / "rings"))
    assert code == 3
    assert "graphsleuth: reading evidence" in written  # it was shown while reading
    screen = _screen(written)
    assert len(screen) == 1 and screen[0].startswith("graphsleuth: error: accounts.csv"), screen
    assert not (tmp_path / "rings").exists()

    # Good input: each finished step stays as one line with its duration, in order.
    code, written = _stderr_on_a_terminal("detect", str(_with_payments(tmp_path, "ok_crlf")), "--out", str(tmp_path / "ok"))
    assert code == 0, written
    screen = _screen(written)
    assert re.fullmatch(r"graphsleuth: reading evidence \(\d+\.\d s\)", screen[0]), screen
    assert re.fullmatch(r"graphsleuth: building the evidence graph \(\d+\.\d s\)", screen[1]), screen


def _with_payments(tmp_path: Path, case: str) -> Path:
    """A copy of corpus ``case`` plus a payments table (detection needs some shared evidence)."""
    folder = tmp_path / case
    shutil.copytree(CORPUS / case, folder)
    (folder / "expect.json").unlink()
    (folder / "payments.csv").write_text("account_id,payment_id\na1,c1\na2,c1\n")
    return folder


def test_cli_accepts_a_bom_and_writes_results(tmp_path):
    out = tmp_path / "rings"
    done = cli("detect", str(_with_payments(tmp_path, "ok_utf8_bom")), "--out", str(out), "--quiet")
    assert done.returncode == 0, done.stderr
    assert {p.name for p in out.iterdir()} >= {"members.csv", "rings.jsonl", "clusters.jsonl"}


def test_detect_on_accounts_alone_finds_nothing(tmp_path):
    from graphsleuth import detect

    findings = detect(CORPUS / "ok_crlf")
    assert findings.rings == [] and len(findings.members) == 0


# --- lenient mode: nothing dropped silently -----------------------------------------------------------------


def _rows_in(path: Path) -> int:
    """Data rows in one evidence file, counted independently of graphsleuth."""
    if path.name.endswith(".parquet"):
        return pq.ParquetFile(path).metadata.num_rows
    with open(path, encoding="utf-8-sig", errors="replace", newline="") as fh:
        return sum(1 for record in csv.reader(fh) if record) - 1


def _balance(folder: Path, evidence) -> dict[str, tuple[int, int, int]]:
    """{file: (rows in, rows kept, rows rejected)} for every table file."""
    out = {}
    for name, path in evidence.files.items():
        rejected = evidence.rejects.loc[evidence.rejects["file"] == path.name, "row"]
        assert rejected.is_unique, f"{path.name}: a row is listed twice in rejects"
        out[path.name] = (_rows_in(path), len(evidence.table(name)), len(rejected))
    return out


ROW_CASES = [c for c in BAD if _expect(c)["row"] is not None]


@pytest.mark.parametrize("case", ROW_CASES)
def test_lenient_reader_accounts_for_every_row(case):
    folder = CORPUS / case
    if case in WHOLE_FILE:
        with pytest.raises(InputError):
            read_evidence(folder, lenient=True)
        return
    evidence = read_evidence(folder, lenient=True)
    expect = _expect(case)
    rejects = evidence.rejects
    assert list(rejects.columns) == ["file", "row", "column", "reason", "value"]
    hit = rejects[(rejects["file"] == expect["file"]) & (rejects["row"] == expect["row"])]
    assert len(hit) == 1, rejects
    assert re.search(expect["match"], hit["reason"].iloc[0] + " found"), hit["reason"].iloc[0]
    for file, (rows_in, kept, rejected) in _balance(folder, evidence).items():
        assert rows_in == kept + rejected, (file, rows_in, kept, rejected)


def _mixed_evidence(folder: Path) -> dict[str, int]:
    """An evidence directory with bad rows in every table; returns the bad rows per file."""
    folder.mkdir(parents=True)
    (folder / "accounts.csv").write_text(
        "account_id,created_at,email\n"
        + "".join(f"a{i},2026-01-0{1 + i % 9}T10:00:00Z,a{i}@mail.test\n" for i in range(40))
        + "a3,2026-01-01T00:00:00Z,dup@mail.test\n"  # duplicate
        + "a99,last tuesday,x@mail.test\n"  # bad time
        + "a98,2026-01-01T00:00:00Z,x@mail.test,extra\n"  # extra field
    )
    (folder / "payments.csv").write_text(
        "account_id,payment_id,kind\n" + "".join(f"a{i},card-{i % 5},card\n" for i in range(40)) + "ghost,card-1,card\na1,,card\n"
    )
    (folder / "ips.csv").write_text(
        "account_id,ip,requests\n"
        + "".join(f"a{i},10.0.{i % 3}.{i},{i}\n" for i in range(40))
        + "a1,10.0.0.256,1\na2,10.0.0.2,-1\na99,10.0.0.9,1\n"
    )
    (folder / "prompts.csv").write_text(
        "account_id,template_id,ts,count\n"
        + "".join(f"a{i},t{i % 4},2026-01-0{1 + i % 9}T11:00:00Z,{1 + i % 3}\n" for i in range(40))
        + "a1,t1,2026-02-30T00:00:00Z,1\na1,,,1\n"
    )
    (folder / "links.csv").write_text(
        "account_id,kind,value\n" + "".join(f"a{i},device,d{i % 7}\n" for i in range(40)) + "a1,dev-ice,d1\na2,device\n"
    )
    return {"accounts.csv": 3, "payments.csv": 2, "ips.csv": 3, "prompts.csv": 2, "links.csv": 2}


def test_lenient_cli_skips_counts_and_lists_bad_rows(tmp_path):
    folder = tmp_path / "evidence"
    bad = _mixed_evidence(folder)
    strict_out = tmp_path / "strict"
    strict = cli("detect", str(folder), "--out", str(strict_out))
    assert strict.returncode == 3 and len(error_lines(strict.stderr)) == 1 and not strict_out.exists()
    assert (
        "accounts.csv, row 41, column account_id: duplicate account_id" in strict.stderr
        or "accounts.csv, row 42" in strict.stderr
        or "accounts.csv, row 43" in strict.stderr
    ), strict.stderr

    out = tmp_path / "rings"
    done = cli("detect", str(folder), "--out", str(out), "--lenient")
    assert done.returncode == 0, done.stderr
    total = sum(bad.values())
    assert f"{total} input rows rejected, listed with their reasons in {out / 'rejects.csv'}" in done.stdout
    rejects = pd.read_csv(out / "rejects.csv", keep_default_na=False)
    assert list(rejects.columns) == ["file", "row", "column", "reason", "value"]
    assert rejects.groupby("file").size().to_dict() == bad
    assert (rejects["reason"] != "").all()
    evidence = read_evidence(folder, lenient=True)
    for file, (rows_in, kept, rejected) in _balance(folder, evidence).items():
        assert rows_in == kept + rejected and rejected == bad[file], file
    # Rows in == kept + rejected also as seen by detection: every kept account was read.
    assert f"{len(evidence.accounts):,} accounts read" in done.stdout


def test_a_header_field_too_long_is_refused_while_values_may_be_long(tmp_path):
    """Reading raises the csv module's field limit for long quoted values; a header still has the default one."""
    folder = tmp_path / "evidence"
    folder.mkdir()
    (folder / "accounts.csv").write_text("account_id," + "x" * 200_000 + "\na1,1\n")
    with pytest.raises(InputError) as caught:
        read_evidence(folder)
    assert caught.value.file == "accounts.csv"
    assert "the header is not a valid CSV line: field larger than field limit (131072)" in str(caught.value)


def test_account_positions_found_while_reading_match_the_accounts_table(tmp_path):
    """Reading looks up each row's account once and keeps it; after dropping bad rows it must still line up."""
    folder = tmp_path / "evidence"
    _mixed_evidence(folder)
    evidence = read_evidence(folder, lenient=True)
    accounts = pd.Index(evidence.accounts["account_id"])
    for name in ("payments", "ips", "prompts", "links"):
        found = evidence.account_positions(name)
        assert found.tolist() == accounts.get_indexer(evidence.table(name)["account_id"]).tolist(), name
        assert (found >= 0).all(), name


def test_strict_reader_names_the_first_bad_table_in_table_order(tmp_path):
    """Tables are read side by side, the largest first; the error is the one reading them in order would give."""
    folder = tmp_path / "evidence"
    folder.mkdir()
    ids = [f"a{i}" for i in range(300)]
    (folder / "accounts.csv").write_text("account_id\n" + "".join(f"{a}\n" for a in ids))
    good_payments = "".join(f"{a},card-{i % 50}\n" for i, a in enumerate(ids))
    (folder / "payments.csv").write_text("account_id,payment_id\na1,card-1\na2,card-2\na3,\n" + good_payments)
    prompts = "".join(f"{a},t{i % 9},2026-01-01T10:{i % 60:02d}:00Z\n" for i, a in enumerate(ids * 40))
    (folder / "prompts.csv").write_text("account_id,template_id,ts\na1,t1,yesterday\n" + prompts)
    (folder / "links.csv").write_text("account_id,kind\na1,device\n")
    assert (folder / "prompts.csv").stat().st_size > 50 * (folder / "payments.csv").stat().st_size

    def first_error():
        with pytest.raises(InputError) as caught:
            read_evidence(folder)
        return caught.value.file, caught.value.row, caught.value.column

    assert first_error() == ("payments.csv", 3, "payment_id")
    (folder / "payments.csv").write_text("account_id,payment_id\n" + good_payments)
    assert first_error() == ("prompts.csv", 1, "ts")
    (folder / "prompts.csv").write_text("account_id,template_id,ts\n" + prompts)
    assert first_error() == ("links.csv", None, "value")


def test_lenient_cli_with_nothing_bad_says_so(tmp_path):
    out = tmp_path / "rings"
    done = cli("detect", str(_with_payments(tmp_path, "ok_crlf")), "--out", str(out), "--lenient")
    assert done.returncode == 0 and "0 input rows rejected" in done.stdout
    assert not (out / "rejects.csv").exists()


# --- property tests: random rows for every table ------------------------------------------------------------

_CHARS = st.characters(codec="utf-8", exclude_categories=("Cs",))
_PLAIN = st.text(_CHARS, max_size=10)
_ACCOUNTS = ("a1", "a2", "a3")


def _valid_time():
    moment = st.datetimes(min_value=datetime(1900, 1, 1), max_value=datetime(2200, 1, 1))
    return st.one_of(
        moment.map(lambda d: d.strftime("%Y-%m-%dT%H:%M:%SZ")),
        moment.map(lambda d: d.strftime("%Y-%m-%dT%H:%M:%S+02:00")),
        moment.map(lambda d: d.strftime("%Y-%m-%dT%H:%M:%S.%fZ")),
    )


_BAD_TIMES = [
    "yesterday",
    "now",
    "Today",
    "2026-13-01T00:00:00Z",
    "2026-02-30T10:00:00Z",
    "2025-02-29T00:00:00Z",
    "9999-01-01T00:00:00Z",
    "0001-01-01T00:00:00Z",
    "2026-01-01T25:00:00Z",
    "not a time",
    "NaT",
    "1.5e9x",
]
_BAD_IPS = ["300.1.1.1", "1.2.3", "01.2.3.4", "abc", "::g", "1.2.3.4.5", "10.0.0.1/24", " 10.0.0.1", ""]
_BAD_KINDS = ["", "1abc", "a-b", "x" * 41, "dev ice", "dé"]


def _value(kind: str, required: bool):
    """A strategy of (text, bad) for one cell of a column of ``kind``."""
    if kind == "id":
        ids = st.one_of(_PLAIN, st.sampled_from(["a1", " a1", "x,y", 'q"q', "=1+1", "\n"]), st.just("i" * (MAX_ID_CHARS + 1)))
        return ids.map(lambda v: (v, v.strip() == "" or len(v) > MAX_ID_CHARS))
    if kind == "text":
        return st.one_of(_PLAIN, st.just("t" * (MAX_TEXT_CHARS + 1))).map(lambda v: (v, len(v) > MAX_TEXT_CHARS))
    if kind == "time":
        return st.one_of(
            _valid_time().map(lambda v: (v, False)), st.sampled_from(_BAD_TIMES).map(lambda v: (v, True)), st.just(("", required))
        )
    if kind == "count":
        return st.one_of(
            st.integers(0, 2**53).map(lambda n: (str(n), False)),
            st.just(("", False)),
            st.integers(max_value=-1).map(lambda n: (str(n), True)),
            st.sampled_from(["1.5", "five", "inf", "nan", "1e400", "-0.5"]).map(lambda v: (v, True)),
        )
    if kind == "number":
        return st.one_of(
            st.floats(0, 1e12).map(lambda x: (repr(x), False)),
            st.just(("", False)),
            st.sampled_from(["-1", "five", "inf", "nan", "-0.5"]).map(lambda v: (v, True)),
        )
    if kind == "ip":
        return st.one_of(st.ip_addresses().map(lambda a: (str(a), False)), st.sampled_from(_BAD_IPS).map(lambda v: (v, True)))
    if kind == "kind":
        return st.one_of(
            st.from_regex(r"[A-Za-z][A-Za-z0-9_]{0,39}", fullmatch=True).map(lambda v: (v, False)),
            st.sampled_from(_BAD_KINDS).map(lambda v: (v, True)),
        )
    raise AssertionError(kind)


@st.composite
def _table(draw, name: str):
    """(columns, rows) for table ``name``: each row a list of (text, bad) plus a flag for an extra field."""
    spec = TABLES[name]
    optional = [c for c in spec.columns if c not in spec.required]
    columns = list(spec.required) + [c for c in optional if draw(st.booleans())]
    if spec.one_of and not any(c in columns for c in spec.one_of):
        columns.append(draw(st.sampled_from(spec.one_of)))
    rows = []
    for _ in range(draw(st.integers(1, 8))):
        row = []
        for column in columns:
            if column == "account_id" and name != "accounts":
                row.append(
                    draw(
                        st.one_of(
                            st.sampled_from(_ACCOUNTS).map(lambda v: (v, False)),
                            st.sampled_from(["ghost", "", " "]).map(lambda v: (v, v.strip() == "")),
                        )
                    )
                )
            elif column == "account_id":
                row.append(draw(st.one_of(st.sampled_from(["a1", "a2", "b1"]).map(lambda v: (v, False)), _value("id", True))))
            else:
                row.append(draw(_value(spec.columns[column], column in spec.required)))
        rows.append((row, draw(st.integers(0, 15)) == 0))
    return columns, rows


def _cell(value: str) -> str:
    """One CSV field, quoted when it holds a comma, quote or line break (as RFC 4180 asks)."""
    return '"' + value.replace('"', '""') + '"' if any(c in value for c in ',"\r\n') else value


def _write_table(folder: Path, name: str, columns: list[str], rows) -> None:
    # Python's csv writer leaves a lone \r unquoted when the line ends are \n, so fields are quoted here.
    lines = [",".join(columns)]
    for row, extra in rows:
        cells = [_cell(v) for v, _ in row] + (["extra"] if extra else [])
        lines.append('""' if cells == [""] else ",".join(cells))
    (folder / f"{name}.csv").write_text("\n".join(lines) + "\n", encoding="utf-8", newline="")


def _oracle(name: str, columns: list[str], rows) -> tuple[set[int], set[int]]:
    """(rows bad on their own, rows bad only against other rows or tables), numbered from 1."""
    spec = TABLES[name]
    own, relational = set(), set()
    seen: set[str] = set()
    for number, (row, extra) in enumerate(rows, start=1):
        values = {c: v for c, (v, _) in zip(columns, row)}
        bad = extra or any(b for _, b in row)
        if not bad and spec.one_of:
            bad = all(values.get(c, "") == "" for c in spec.one_of)
        if bad:
            own.add(number)
            continue
        account = values["account_id"]
        if name == "accounts":
            if account in seen:
                relational.add(number)
            seen.add(account)
        elif account not in _ACCOUNTS:
            relational.add(number)
    return own, relational


def _same(kind: str, given_text: str, kept) -> bool:
    if kind == "id" or kind == "kind":
        return kept == given_text
    if kind == "text":
        return (pd.isna(kept) and given_text == "") or kept == given_text
    if kind == "time":
        return (pd.isna(kept) and given_text == "") or kept == pd.Timestamp(given_text)
    if kind == "count":
        return (given_text == "" and (pd.isna(kept) or kept == 1)) or int(kept) == int(given_text)
    if kind == "number":
        return (given_text == "" and pd.isna(kept)) or float(kept) == float(given_text)
    if kind == "ip":
        return ipaddress.ip_address(kept) == ipaddress.ip_address(given_text)
    raise AssertionError(kind)


def _check_random_table(folder: Path, name: str, table) -> None:
    columns, rows = table
    shutil.rmtree(folder, ignore_errors=True)
    folder.mkdir(parents=True)
    if name != "accounts":
        (folder / "accounts.csv").write_text("account_id\n" + "\n".join(_ACCOUNTS) + "\n")
    _write_table(folder, name, columns, rows)
    own, relational = _oracle(name, columns, rows)
    spec = TABLES[name]

    # Strict: succeeds with every row when nothing is bad; otherwise names the first bad row.
    try:
        evidence = read_evidence(folder)
    except InputError as err:
        expected_row = min(own) if own else min(relational)
        assert (Path(err.file).name, err.row) == (f"{name}.csv", expected_row), (str(err), own, relational)
        assert err.column is None or err.column in columns
        assert "\n" not in str(err)
    else:
        assert not own and not relational, f"accepted bad rows {sorted(own | relational)}"
        kept = evidence.table(name)
        assert len(kept) == len(rows)
        for column in columns:
            for (row, _), value in zip(rows, kept[column].tolist()):
                text = row[columns.index(column)][0]
                assert _same(spec.columns[column], text, value), (column, text, value)

    # Lenient: exactly the bad rows are rejected, each once; the rest are kept.
    try:
        evidence = read_evidence(folder, lenient=True)
    except InputError as err:
        # Only an accounts table left with no valid row at all may stop a lenient read.
        assert name == "accounts" and "no valid rows" in str(err) and len(own | relational) == len(rows), str(err)
        return
    rejected = evidence.rejects.loc[evidence.rejects["file"] == f"{name}.csv", "row"].tolist()
    assert sorted(rejected) == sorted(own | relational)
    assert len(evidence.table(name)) + len(rejected) == len(rows)


@pytest.mark.parametrize("name", list(TABLES))
@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow])
@given(data=st.data())
def test_random_rows_are_kept_or_named(tmp_path, name, data):
    table = data.draw(_table(name))
    _check_random_table(tmp_path / "random", name, table)


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(raw=st.binary(max_size=300), name=st.sampled_from(list(TABLES)), header=st.booleans())
def test_random_bytes_give_input_error_or_evidence(tmp_path, raw, name, header):
    folder = tmp_path / "bytes"
    shutil.rmtree(folder, ignore_errors=True)
    folder.mkdir()
    if name != "accounts":
        (folder / "accounts.csv").write_text("account_id\na1\n")
    prefix = (",".join(TABLES[name].required + TABLES[name].one_of[:1]) + "\n").encode() if header else b""
    (folder / f"{name}.csv").write_bytes(prefix + raw)
    for lenient in (False, True):
        try:
            evidence = read_evidence(folder, lenient=lenient)
        except InputError as err:
            assert "\n" not in str(err) and err.file
        else:
            assert len(evidence.accounts) >= 1
