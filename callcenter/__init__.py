"""callcenter: a self-hostable AI phone agent for call centers."""

__version__ = "0.1.0"
