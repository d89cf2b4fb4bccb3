"""The script ``spark-submit`` runs: the ``graphsleuth`` command line, in the session spark-submit started.

    spark-submit --master yarn "$(python -c 'import graphsleuth.spark.submit as s; print(s.__file__)')" \\
        detect s3a://bucket/evidence --out /mnt/rings --engine spark

Under spark-submit the engine takes spark-submit's master and settings (``--conf``) and its
JVM as they are; graphsleuth must be installed on the driver and on every executor.
"""

from __future__ import annotations

import sys

if __name__ == "__main__":
    from graphsleuth.cli import main

    sys.exit(main())
