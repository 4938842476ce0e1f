"""Widgets of the Textual player, one per module."""
