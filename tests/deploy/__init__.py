"""Deploy and operate: production start checks, metrics, usage, key reload, files."""
