"""Platform code shared by every service: settings, event stores, contracts, messaging.

Nothing here knows about certificates, payments or claims beyond the public contracts.
"""
