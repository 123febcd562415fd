"""msgspec Structs for identity's requests and responses: its public contract."""
