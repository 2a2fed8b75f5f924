"""The fake OpenAI server and helpers for running apps on real sockets.

Used by the tests, the benchmarks and the built-in simulator.
"""

from vivavoce.testing.servers import BackgroundServer, serve_in_background

__all__ = ["BackgroundServer", "serve_in_background"]
