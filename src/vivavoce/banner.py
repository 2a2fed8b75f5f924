"""The startup banner (placeholder)."""

from __future__ import annotations

from vivavoce.runtime import Runtime


def render_banner(runtime: Runtime) -> str:
    s = runtime.settings
    mode = "built-in simulator" if s.use_simulator else "OpenAI"
    return f"vivavoce on http://{s.host}:{s.port} ({mode})"
