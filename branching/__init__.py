"""branching: interactive branching stories, every choice logged and analysed.

Importing the package is cheap: the Textual player, networkx and SQLite code load only in the
commands that need them.
"""

__version__ = "0.1.0"
