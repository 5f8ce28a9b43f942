"""Integrations written inside the example app."""
