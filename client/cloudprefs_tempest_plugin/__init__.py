"""Tempest plugin for Cloud Preferences: ``tempest run --regex cloudprefs``.

Shipped in the client distribution; tempest loads it through the
``tempest.test_plugins`` entry point, so only tempest's own environment
imports tempest.
"""
