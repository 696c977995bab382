"""myagent: a tool-calling agent framework with a fast, lossless tracing system."""

__version__ = "0.1.0"
