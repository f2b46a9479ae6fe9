"""Window aggregation: mergeable per-window statistics, pure and serialisable."""
