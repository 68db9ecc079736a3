"""``edgemnist bench``: accuracy, latency percentiles and throughput for every backend here.

Modules, one job each:

- :mod:`~edgemnist.bench.stats` — percentiles and spread of latency samples;
- :mod:`~edgemnist.bench.timing` — the timing harness (warm-up, minimum iterations and time,
  thread count, CPU pinning) and the measurement of its own overhead;
- :mod:`~edgemnist.bench.fingerprint` — what machine, clocks and versions produced the numbers;
- :mod:`~edgemnist.bench.rows` — which rows a set of artifacts or a run directory gives;
- :mod:`~edgemnist.bench.run` — runs the rows;
- :mod:`~edgemnist.bench.recommend` — which artifact to ship, and whether INT8 pays here;
- :mod:`~edgemnist.bench.report` — table, JSON, CSV, Markdown and plots;
- :mod:`~edgemnist.bench.result` — the typed result document (rows, schema, migration);
- :mod:`~edgemnist.bench.regression` — the regression gate against a baseline JSON.

Accuracy and agreement are scored by :mod:`edgemnist.scoring`, like ``verify``'s.

Nothing here imports torch, onnxruntime, tensorrt or matplotlib at module top.
"""

from __future__ import annotations

#: version of the result JSON layout; bump when a key changes meaning or disappears
#: (history and migration: :mod:`edgemnist.bench.result`)
SCHEMA_VERSION = 2
