"""Screen-driven enrollment drivers: Auth0 Universal Login, Keycloak, Okta and a generic one."""
