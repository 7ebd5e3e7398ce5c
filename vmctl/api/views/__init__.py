"""Response bodies built from database rows, as plain dicts."""


def iso_z(dt):
    """Nova's server timestamp format: 2024-01-02T03:04:05Z."""
    return dt.strftime("%Y-%m-%dT%H:%M:%SZ") if dt is not None else None


def iso_us(dt):
    """Nova's action/service timestamp format: 2024-01-02T03:04:05.000000."""
    return dt.strftime("%Y-%m-%dT%H:%M:%S.%f") if dt is not None else None
