"""``branching serve``: the full-screen player in a browser, one process per tab.

Built on textual-serve (aiohttp). Importing this package loads nothing heavy: the server
(:mod:`branching.serve.server`) needs the ``serve`` extra, and the per-tab process
(:mod:`branching.serve.child`) only what ``branching play`` needs. See ``docs/serving.md``.

* :mod:`~branching.serve.identity`: the viewer cookie, hosts the server answers to.
* :mod:`~branching.serve.children`: starting, warming and stopping the per-tab processes.
* :mod:`~branching.serve.server`: routes, the session cap, one session per viewer.
* :mod:`~branching.serve.child`: the per-tab process (always the Textual player).
* :mod:`~branching.serve.driver`: Textual's web driver, made to quit when the server is gone.
"""
