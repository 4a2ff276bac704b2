"""`import pykka` where the alias is not installed yet gives pykka_rs.

A worker process of the compatibility run imports Pykka's test modules (the
actors' base classes live there), which import `pykka`; this module answers
that import by installing the alias, and so stands in for itself.
"""

from alias import install

install()
