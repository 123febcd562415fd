"""The membership context: the organisation registry, membership and (later) accreditation."""
