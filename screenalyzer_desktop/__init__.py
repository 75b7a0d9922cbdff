"""SCREENALYZER Desktop: who is on screen, and for how long."""

__version__ = "0.1.0"
