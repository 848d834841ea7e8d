"""The claims service: critical illness and accident claims (see `domain.py`)."""
