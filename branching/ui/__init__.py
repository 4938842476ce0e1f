"""The Textual player (``branching play``).

Importing this package does not import Textual; use :func:`branching.ui.app.make_app`.
"""
