"""Live camera digit reading (device side, no torch).

::

    source thread ──newest-frame slot──> detect ──> prepare (same as predict) ──> one batched infer
    sinks <── draw <── tracks + votes (by geometry, not class) <─────────────────────┘

Modules: ``types`` (the shared data), ``sources`` + ``capture`` (URIs, the newest-frame capture
thread, watchdog), ``synthetic`` (a camera over sheets of MNIST test digits, with ground truth),
``detect`` + ``read`` + ``track`` (finding, classifying and stabilizing digits), ``loop`` (stages,
timing, shutdown), sinks (``web``, ``jsonl``, ``record``, ``window``, ``draw``).
"""
