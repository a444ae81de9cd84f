"""expunge: destroy confidential data and prove it."""

__version__ = "0.1.0"
TOOL_NAME = "expunge"
