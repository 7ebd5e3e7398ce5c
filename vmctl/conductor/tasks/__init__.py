"""One module per multi-step workflow the conductor runs."""
