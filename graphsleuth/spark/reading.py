"""Evidence tables at any URI Spark reads (s3a://, abfss://, gs://, hdfs://, file://), checked as local ones are.

Spark finds and reads each table (``NAME.parquet``, ``NAME.csv`` or ``NAME.csv.gz`` under the
URI, as the evidence format says), every column as text, and hands the rows to the driver
through Arrow; :func:`graphsleuth.evidence.evidence_from_text` checks them with the evidence
reader's own rules, so a bad row stops the run with the file, row and column named, as it
does for a local directory. CSV is parsed by Spark's reader (RFC 4180 quoting, a header line).
"""

from __future__ import annotations

from ..errors import InputError
from ..evidence import TABLES, Evidence, evidence_from_text

__all__ = ["read_evidence_spark", "is_uri"]

#: How a table may be stored, in the order looked for.
_EXTENSIONS = (".parquet", ".csv", ".csv.gz")


def is_uri(data) -> bool:
    """True for a URI with a scheme (``s3a://...``), which the Spark engine reads through Spark."""
    return isinstance(data, str) and "://" in data


def _exists(spark, uri: str) -> bool:
    jvm = spark.sparkContext._jvm
    path = jvm.org.apache.hadoop.fs.Path(uri)
    return bool(path.getFileSystem(spark.sparkContext._jsc.hadoopConfiguration()).exists(path))


def _as_text(frame):
    """Every column as text: times as ISO-8601 in UTC, missing values as empty text (what the local reader gives)."""
    from pyspark.sql import functions as F
    from pyspark.sql import types as T

    columns = []
    for field in frame.schema.fields:
        column = F.col(f"`{field.name}`")
        if isinstance(field.dataType, (T.TimestampType, T.TimestampNTZType)):
            column = F.date_format(column, "yyyy-MM-dd'T'HH:mm:ss'Z'")
        columns.append(F.coalesce(column.cast("string"), F.lit("")).alias(field.name))
    return frame.select(*columns)


def read_evidence_spark(spark, uri: str, lenient: bool = False) -> Evidence:
    """Read and check the evidence tables under ``uri`` with Spark; an :class:`InputError` names file, row and column."""
    base = uri.rstrip("/")
    spark.conf.set("spark.sql.session.timeZone", "UTC")  # times are read and written in UTC, as the format says
    tables, files = {}, {}
    for name in TABLES:
        found = [f"{base}/{name}{ext}" for ext in _EXTENSIONS if _exists(spark, f"{base}/{name}{ext}")]
        if len(found) > 1:
            raise InputError(found[0], f"table {name} is stored more than once: " + ", ".join(f.rsplit("/", 1)[1] for f in found))
        if not found:
            continue
        path = found[0]
        try:
            if path.endswith(".parquet"):
                frame = spark.read.parquet(path)
            else:
                frame = spark.read.option("header", True).option("inferSchema", False).option("escape", '"').csv(path)
        except Exception as exc:  # Spark's reader: a damaged file
            raise InputError(path, f"not readable by Spark: {str(exc).strip().splitlines()[0]}") from None
        tables[name] = _as_text(frame).toPandas()
        files[name] = path
    if "accounts" not in tables and not _exists(spark, base):
        raise InputError(uri, "not a directory of evidence tables")
    return evidence_from_text(tables, files, base, lenient=lenient)
