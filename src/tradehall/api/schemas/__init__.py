"""msgspec Structs for requests and responses: the public contract."""
