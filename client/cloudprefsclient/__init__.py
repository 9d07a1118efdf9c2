"""Python client for the Cloud Preferences API (service type
``preferences``)."""

__version__ = '1.0.0'
