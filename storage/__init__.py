"""Everything that talks to Postgres: the asyncpg pool with student-scoped and service
transactions (`db`), one repository per table or feature, the migrations runner, PTB
conversation persistence, the embedded server and the catalog checks doctor reads.

May import: asyncpg, Telegram's persistence base class, the standard library, and other
`storage` modules. Nothing of `bot` or `handlers`: storage never formats a message and never
computes a clock (callers pass the engine's results in).
"""
