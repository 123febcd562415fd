"""msgspec Structs for the membership context's requests and responses: its public contract."""
