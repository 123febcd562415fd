"""The HTTP API (Litestar): the app factory and the web layer every context shares.

Each context's controllers and schemas are in a sub-package named for it (membership/,
identity/).
"""
