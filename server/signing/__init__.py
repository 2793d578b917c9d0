"""What the server signs with: the server secret and the keys derived from it
(:mod:`~planfuse.signing.secret`), and the server's own ES256 key pairs for documents a
host verifies, such as compliance reports, published as a JWKS
(:mod:`~planfuse.signing.server_keys`).

Below auth and the services, so both use it: auth signs widget sessions with a derived key,
the compliance service signs its reports.
"""
