"""msgspec Structs every context's requests and responses build on: the public contract."""
