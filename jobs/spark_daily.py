"""The family aggregation (``ecosystem_daily``, and ``crossovers`` from it) as a Spark job over a lake export.

    python -m jobs.spark_daily EXPORT_DIR OUT_DIR [--master local[2]] [--shuffle-partitions 8]
    spark-submit --master yarn jobs/spark_daily.py s3a://bucket/ecotrend-lake s3a://bucket/ecotrend-out

Reads ``EXPORT_DIR`` as ``ecotrend export --to`` writes it (manifest.json, observations/source=…/
metric=…/, memberships/, metrics/) and writes ``OUT_DIR/ecosystem_daily/`` and ``OUT_DIR/crossovers/``
as Parquet with the warehouse views' columns: (day, ecosystem, metric, value, subjects_reporting,
subjects_expected, method) and (metric, ecosystem, other, since, value, other_value, day,
since_first_day).  The rules are the warehouse's:

- a family's subjects are its memberships with role ``primary`` or ``member`` (``tracked`` and
  ``item`` are kept one by one and never enter a family total);
- per (day, ecosystem, metric) ONE method is used, snapshot before derived before backfill;
  ``reference`` figures are never aggregated;
- a fact flagged ``suspect`` does not report (its subject is missing that day);
- the value follows the catalogue (``metrics.aggregation``): ``sum`` over the family's subjects,
  ``max``, or ``primary`` — only the primary subject's value, and no row when it does not report;
- ``subjects_reporting`` = distinct subjects reporting with the chosen method; ``subjects_expected``
  = the family's subjects that have ever reported the metric with a measured method;
- ``crossovers``: from the complete days of the family totals (reporting = expected) of level and flow
  metrics (ranks left out), per ordered pair of families the first day from which ``ecosystem`` has
  stayed above ``other`` through the latest day both report.

Spark's own engine does the work (DataFrame API, no Python UDF, nothing collected to the driver but
the manifest), so the file runs unchanged on a cluster; it imports nothing else from ecotrend.
"""
from __future__ import annotations

import argparse
import json
import os
import sys
import tempfile
from pathlib import Path
from typing import Any

FORMAT = "ecotrend-lake"
LAYOUTS = (1,)  # lake layouts this job reads (jobs/lake.py LAYOUT_VERSION)
MEASURED = ("snapshot", "derived", "backfill")  # in order of preference
OUTPUT = "ecosystem_daily"
COLUMNS = ("day", "ecosystem", "metric", "value", "subjects_reporting", "subjects_expected", "method")
CROSSOVERS = "crossovers"
CROSSOVER_COLUMNS = ("metric", "ecosystem", "other", "since", "value", "other_value", "day", "since_first_day")
FACT_SCHEMA = ("day DATE, subject STRING, value DOUBLE, method STRING, flags STRING, run_id STRING, "
               "collected_at TIMESTAMP, source STRING, metric STRING")


class JobError(Exception):
    """Bad input or an impossible run: one line, non-zero exit."""

    def __init__(self, message: str, code: int = 1):
        super().__init__(message)
        self.code = code


def is_local(path: str) -> bool:
    return "://" not in path or path.startswith("file://")


def local_path(path: str) -> Path:
    return Path(path[len("file://"):] if path.startswith("file://") else path)


def check_manifest(manifest: Any, where: str) -> dict[str, Any]:
    if not isinstance(manifest, dict) or manifest.get("format") != FORMAT:
        raise JobError(f"{where}: not an ecotrend export manifest", 2)
    if manifest.get("layout_version") not in LAYOUTS:
        raise JobError(f"{where}: lake layout {manifest.get('layout_version')} is not one this job reads "
                       f"({', '.join(map(str, LAYOUTS))})", 2)
    if not manifest.get("complete"):
        raise JobError(f"{where}: the export is incomplete (interrupted?); run 'ecotrend export' again", 2)
    return manifest


def read_manifest(spark: Any, export_dir: str) -> dict[str, Any]:
    """The export's manifest: read directly when local, through Spark on any other filesystem."""
    where = f"{export_dir.rstrip('/')}/manifest.json"
    try:
        if is_local(export_dir):
            text = local_path(where).read_text(encoding="utf-8")
        else:
            text = spark.read.text(where, wholetext=True).first()[0]
        return check_manifest(json.loads(text), where)
    except (OSError, ValueError) as exc:
        raise JobError(f"{where}: cannot read the export manifest ({exc})", 2) from None


def facts_frame(spark: Any, export_dir: str, manifest: dict[str, Any]) -> Any:
    """observations with source and metric from the partition folders (always read as strings)."""
    root = f"{export_dir.rstrip('/')}/observations"
    if not manifest["tables"]["observations"]["rows"]:
        return spark.createDataFrame([], FACT_SCHEMA)
    return (spark.read.option("basePath", root).schema(FACT_SCHEMA).parquet(root)
            .select("day", "source", "metric", "subject", "value", "method", "flags"))


def ecosystem_daily(facts: Any, memberships: Any, metrics: Any) -> Any:
    """The family totals, by the warehouse's rules (see the module docstring)."""
    from pyspark.sql import functions as F

    mem = (memberships.where(F.col("role").isin("primary", "member"))
           .groupBy("ecosystem", "source", "subject")
           .agg(F.max(F.col("role") == "primary").alias("is_primary")))
    member_facts = (facts.where(F.col("method").isin(*MEASURED))
                    .join(mem, ["source", "subject"]))
    expected = (member_facts.groupBy("ecosystem", "metric")
                .agg(F.countDistinct("subject").alias("subjects_expected")))
    suspect = F.array_contains(F.split(F.coalesce(F.col("flags"), F.lit("")), ","), "suspect")
    rank = F.when(F.col("method") == MEASURED[0], 1).when(F.col("method") == MEASURED[1], 2).otherwise(3)
    obs = member_facts.where(~suspect).withColumn("method_rank", rank)
    best = obs.groupBy("day", "ecosystem", "metric").agg(F.min("method_rank").alias("method_rank"))
    chosen = obs.join(best, ["day", "ecosystem", "metric", "method_rank"])
    catalogue = F.broadcast(metrics.select("metric", "aggregation"))
    primary = F.col("is_primary")
    grouped = (chosen.join(catalogue, "metric")
               .groupBy("day", "ecosystem", "metric", "aggregation")
               .agg(F.sum("value").alias("v_sum"), F.max("value").alias("v_max"),
                    F.max(F.when(primary, F.col("value"))).alias("v_primary"),
                    F.count(F.when(primary, F.lit(1))).alias("n_primary"),
                    F.countDistinct("subject").alias("subjects_reporting"),
                    F.first("method").alias("method")))
    value = (F.when(F.col("aggregation") == "sum", F.col("v_sum"))
             .when(F.col("aggregation") == "max", F.col("v_max"))
             .otherwise(F.col("v_primary")))
    return (grouped.where((F.col("aggregation") != "primary") | (F.col("n_primary") > 0))
            .withColumn("value", value)
            .join(expected, ["ecosystem", "metric"], "left")
            .select(*COLUMNS))


def crossovers(daily: Any, metrics: Any) -> Any:
    """The warehouse's view ``crossovers`` from the family totals: per ordered pair of families and level
    or flow metric (ranks left out), the first day from which ``ecosystem`` has stayed above ``other``
    through the latest day both report, complete days only."""
    from pyspark.sql import functions as F

    kinds = F.broadcast(metrics.where(F.col("kind").isin("level", "flow")
                                      & (F.coalesce(F.col("unit"), F.lit("")) != "rank")).select("metric"))
    usable = (daily.join(kinds, "metric")
              .where(F.col("value").isNotNull()
                     & (F.col("subjects_reporting") >= F.coalesce("subjects_expected", "subjects_reporting")))
              .select("day", "ecosystem", "metric", "value"))
    other = usable.select("day", "metric", F.col("ecosystem").alias("other"), F.col("value").alias("other_value"))
    pairs = usable.join(other, ["metric", "day"]).where(F.col("ecosystem") != F.col("other"))
    spans = (pairs.groupBy("metric", "ecosystem", "other")
             .agg(F.min("day").alias("first_day"),
                  F.max(F.when(F.col("value") <= F.col("other_value"), F.col("day"))).alias("last_not_ahead")))
    return (pairs.join(spans, ["metric", "ecosystem", "other"])
            .where(F.col("last_not_ahead").isNull() | (F.col("day") > F.col("last_not_ahead")))
            .groupBy("metric", "ecosystem", "other")
            .agg(F.min("day").alias("since"), F.max_by("value", "day").alias("value"),
                 F.max_by("other_value", "day").alias("other_value"), F.max("day").alias("day"),
                 (F.min("day") == F.first("first_day")).alias("since_first_day"))
            .select(*CROSSOVER_COLUMNS))


def write_small(frame: Any, target: str, order: tuple[str, ...]) -> None:
    """One sorted file: these results are small (days x families x metrics) whatever the size of the facts."""
    frame.repartition(1).sortWithinPartitions(*order).write.mode("overwrite").parquet(target)


def run(spark: Any, export_dir: str, out_dir: str) -> list[str]:
    """Compute ecosystem_daily and crossovers from the export; write each to OUT_DIR/<name>; return the paths."""
    manifest = read_manifest(spark, export_dir)
    spark.conf.set("spark.sql.sources.partitionColumnTypeInference.enabled", "false")
    base, out = export_dir.rstrip("/"), out_dir.rstrip("/")
    metrics = spark.read.parquet(f"{base}/metrics")
    daily = ecosystem_daily(facts_frame(spark, export_dir, manifest), spark.read.parquet(f"{base}/memberships"),
                            metrics)
    write_small(daily, f"{out}/{OUTPUT}", ("day", "ecosystem", "metric"))
    # read back what was written, so crossovers does not compute the family totals a second time
    write_small(crossovers(spark.read.parquet(f"{out}/{OUTPUT}"), metrics), f"{out}/{CROSSOVERS}",
                ("metric", "ecosystem", "other"))
    return [f"{out}/{OUTPUT}", f"{out}/{CROSSOVERS}"]


QUIET_LOG4J2 = """\
rootLogger.level = error
rootLogger.appenderRef.console.ref = console
appender.console.type = Console
appender.console.name = console
appender.console.target = SYSTEM_ERR
appender.console.layout.type = PatternLayout
appender.console.layout.pattern = %d{HH:mm:ss} %p %c{1}: %m%n
"""


def quiet_logging() -> str:
    """-D option pointing a JVM started from here at a log4j2 file that shows errors only."""
    path = Path(tempfile.gettempdir()) / "ecotrend-spark-log4j2.properties"
    if not path.is_file() or path.read_text(encoding="utf-8") != QUIET_LOG4J2:
        tmp = path.with_name(f".{path.name}.{os.getpid()}")
        tmp.write_text(QUIET_LOG4J2, encoding="utf-8")
        os.replace(tmp, path)
    return f"-Dlog4j2.configurationFile=file:{path}"


def session(master: str | None, shuffle_partitions: int | None) -> Any:
    """A Spark session: spark-submit's when there is one, else a local JVM started here (errors-only logs);
    UTC, no UI."""
    try:
        from pyspark.sql import SparkSession
    except ImportError:
        raise JobError("pyspark is not installed: pip install 'ecotrend[spark]' (pyspark>=4)", 2) from None
    builder = SparkSession.builder.appName("ecotrend ecosystem_daily")
    if master:
        builder = builder.master(master)
    builder = (builder.config("spark.sql.session.timeZone", "UTC").config("spark.ui.enabled", "false")
               .config("spark.ui.showConsoleProgress", "false"))
    if shuffle_partitions:
        builder = builder.config("spark.sql.shuffle.partitions", str(shuffle_partitions))
    if "PYSPARK_GATEWAY_PORT" not in os.environ:  # not under spark-submit: this process starts the JVM
        builder = builder.config("spark.driver.extraJavaOptions", quiet_logging())
    try:
        spark = builder.getOrCreate()
    except Exception as exc:  # no Java, a JVM that does not start: PySparkRuntimeError and friends
        first = (str(exc).strip().splitlines() or [type(exc).__name__])[0]
        raise JobError(f"Spark did not start ({first}); is Java 17+ installed (JAVA_HOME or java on PATH)?"
                       ) from None
    spark.sparkContext.setLogLevel("ERROR")
    return spark


def check_paths(export_dir: str, out_dir: str) -> None:
    if is_local(export_dir) and not (local_path(export_dir) / "manifest.json").is_file():
        raise JobError(f"{export_dir}: no ecotrend export here (manifest.json missing); "
                       "make one with: ecotrend export --to DIR", 2)
    if out_dir.rstrip("/") == export_dir.rstrip("/"):
        raise JobError("OUT_DIR must not be the export folder itself", 2)


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(prog="python -m jobs.spark_daily", description=__doc__.splitlines()[0],
                                epilog="example: python -m jobs.spark_daily exports/lake out --master 'local[2]'")
    p.add_argument("export_dir", metavar="EXPORT_DIR", help="a folder written by 'ecotrend export --to'")
    p.add_argument("out_dir", metavar="OUT_DIR", help="where ecosystem_daily/ and crossovers/ are written (replaced)")
    p.add_argument("--master", help="Spark master (default: spark-submit's, else local[*])")
    p.add_argument("--shuffle-partitions", type=int, metavar="N", help="spark.sql.shuffle.partitions")
    args = p.parse_args(argv)
    spark = None
    try:
        check_paths(args.export_dir, args.out_dir)
        if is_local(args.export_dir):  # a bad folder is said before a JVM is started
            read_manifest(None, args.export_dir)
        spark = session(args.master, args.shuffle_partitions)
        targets = run(spark, args.export_dir, args.out_dir)
    except JobError as exc:
        print(f"spark_daily: {exc}", file=sys.stderr)
        return exc.code
    except Exception as exc:  # Spark's AnalysisException and the like: one line, no traceback
        first = (str(exc).strip().splitlines() or [type(exc).__name__])[0]
        print(f"spark_daily: {type(exc).__name__}: {first}", file=sys.stderr)
        return 1
    finally:
        if spark is not None:
            spark.stop()
    print(f"written: {', '.join(targets)}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
