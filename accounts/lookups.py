"""`field__lower_exact=value`: LOWER(field) = LOWER(value), so the case-insensitive unique indexes on
LOWER(username) and LOWER(email) serve the lookup.

Django's own `iexact` compares UPPER() on PostgreSQL, which no index of ours covers: every sign-in then read all
half a million accounts (70-185 ms of database time each, measured at rush hour with bench/rush_hour.py).
"""

from django.db.models import CharField, Lookup


@CharField.register_lookup
class LowerExact(Lookup):
    lookup_name = "lower_exact"

    def as_sql(self, compiler, connection):
        lhs, lhs_params = self.process_lhs(compiler, connection)
        rhs, rhs_params = self.process_rhs(compiler, connection)
        return f"LOWER({lhs}) = LOWER({rhs})", [*lhs_params, *rhs_params]
