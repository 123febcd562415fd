"""Sealed bids' keys and ciphers (ADR 27): the master keys, the data keys wrapped by them, the
keyed-hash bid ids, the sealed event mapper, the sealed file store and sealed notices."""
