"""The HTTP API (Litestar): one module per context, plus the app factory."""
