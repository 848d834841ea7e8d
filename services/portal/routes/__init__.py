"""The portal API's routes, one module per area of the guide; `api.py` puts them together."""
