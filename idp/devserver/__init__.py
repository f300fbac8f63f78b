"""The embedded Auth0-compatible dev IdP: a real HTTP server on loopback.

A standalone program that shares nothing with the orchestrator but its HTTP API.
"""
