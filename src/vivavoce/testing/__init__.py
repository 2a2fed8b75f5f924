"""The fake OpenAI server and helpers for running apps on real sockets.

Used by the tests, the benchmarks and the built-in simulator. See docs/fake-openai.md.
"""

from vivavoce.testing.fake_config import FakeConfig
from vivavoce.testing.fake_openai import FakeOpenAI, create_fake_openai_app
from vivavoce.testing.scenarios import Scenario, scenario_key
from vivavoce.testing.servers import BackgroundServer, serve_in_background

__all__ = [
    "BackgroundServer",
    "FakeConfig",
    "FakeOpenAI",
    "Scenario",
    "create_fake_openai_app",
    "scenario_key",
    "serve_in_background",
]
