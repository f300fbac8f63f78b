"""The authorization plane: Auth0 client, TokenSource, JWT verification and the embedded dev IdP.

Arrives with the authorization plane.
"""
