"""landkit: county land-data toolkit."""
