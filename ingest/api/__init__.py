"""HTTP API v1 of ingest: views, request intake and throttling."""
