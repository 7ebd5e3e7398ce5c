"""vmctl: a compute control plane for virtual machines."""
