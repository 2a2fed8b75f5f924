"""HTTP and WebSocket adapters: the FastAPI app, its routers and pages."""
