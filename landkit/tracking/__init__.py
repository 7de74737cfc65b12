"""The bureau's cycle over time: the ledger sent out and returned, carried into the next run."""
