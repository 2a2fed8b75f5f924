"""vivavoce: live AI voice interviews over the OpenAI Realtime API."""

__version__ = "0.1.0"
