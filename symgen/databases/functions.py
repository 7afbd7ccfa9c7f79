"""Which functions generated SQL may call, per engine: checked on what the engine or the parser
sees as a call, never on the text (a name split as `'p' || 'g_read_file'` is no call).

SQLite is deny-by-default: its authorizer passes each called function's name, and only the core
scalar, date, math, JSON, aggregate and window functions an answer can need are allowed (no
`load_extension`, `fts3_tokenizer`, `sqlite_*`, full-text or R-tree helpers, `randomblob` or
`zeroblob`). PostgreSQL's catalogue is open-ended (extensions, user functions), so its calls are
parsed with sqlglot and refused when they run SQL given as text, change session or server
state, or reach files, other servers or other sessions; the role the adapter insists on (no
superuser, no way back to one) is the guard under this one.
"""

from __future__ import annotations

import re

_SQLITE_GROUPS = {
    # core scalar functions, and the operators SQLite compiles to calls (LIKE, GLOB, ->, ->>)
    "core": "abs char coalesce concat concat_ws format glob hex if ifnull iif instr length like "
    "likelihood likely lower ltrim max min nullif octet_length printf quote random replace "
    "round rtrim sign soundex substr substring trim typeof unhex unicode unistr unlikely upper "
    "-> ->>",
    "date": "date time datetime julianday unixepoch strftime timediff current_date current_time "
    "current_timestamp",
    "math": "acos acosh asin asinh atan atan2 atanh ceil ceiling cos cosh degrees exp floor ln "
    "log log10 log2 mod pi pow power radians sin sinh sqrt tan tanh trunc",
    "aggregate": "avg count group_concat string_agg sum total median percentile "
    "percentile_cont percentile_disc",
    "window": "row_number rank dense_rank percent_rank cume_dist ntile lag lead first_value "
    "last_value nth_value",
    # (json_each and json_tree stay refused: building one asks to update sqlite_master)
    "json": "json jsonb json_array jsonb_array json_array_length json_error_position "
    "json_extract jsonb_extract json_insert jsonb_insert json_object jsonb_object json_patch "
    "jsonb_patch json_pretty json_remove jsonb_remove json_replace jsonb_replace json_set "
    "jsonb_set json_type json_valid json_quote json_group_array jsonb_group_array "
    "json_group_object jsonb_group_object",
}
SQLITE_ALLOWED = frozenset(name for names in _SQLITE_GROUPS.values() for name in names.split())

# PostgreSQL functions refused by name or prefix. `pg_` covers file access (pg_read_file,
# pg_ls_dir, pg_stat_file), server control (pg_reload_conf, pg_terminate_backend,
# pg_cancel_backend), locks that outlive the rollback (pg_advisory_*), pg_notify and pg_sleep.
_PG_DENIED = re.compile(
    r"^(pg_|lo_|loread$|lowrite$|dblink|txid_|set_config$|nextval$|setval$|currval$|lastval$"
    # these run SQL they are given as text, where no check of ours can see it
    r"|ts_stat$|ts_rewrite$|query_to_xml|cursor_to_xml|table_to_xml|schema_to_xml"
    r"|database_to_xml|xpath_table$|crosstab|connectby$"
    # maintenance and upgrade helpers
    r"|brin_|gin_clean_pending_list$|binary_upgrade_|get_raw_page$)",
    re.IGNORECASE,
)
# A name PostgreSQL could resolve in ways a plain comparison misses (U&"\0070g_…", odd quoting).
_PLAIN_NAME = re.compile(r"^[a-z_][a-z0-9_$]*$", re.IGNORECASE)


def sqlite_function_allowed(name: str | None) -> bool:
    return name is not None and name.lower() in SQLITE_ALLOWED


def called_functions(sql: str, dialect: str) -> frozenset[str] | None:
    """Names of every function the statement(s) call, as written (lower-cased), or None when
    sqlglot cannot parse them: a call that cannot be seen cannot be checked."""
    import sqlglot
    from sqlglot import exp
    from sqlglot.errors import ParseError, TokenError

    try:
        trees = sqlglot.parse(sql, read=dialect)
    except (ParseError, TokenError, ValueError, RecursionError):
        return None
    names: set[str] = set()
    for tree in trees:
        for func in tree.find_all(exp.Func) if tree is not None else ():
            if isinstance(func, exp.Anonymous):
                names.add(str(func.name).lower())
            else:  # a function sqlglot knows: any of its spellings
                names.update(n.lower() for n in type(func).sql_names())
    return frozenset(names)


def postgres_denied(names: frozenset[str]) -> str | None:
    """The first refused function among `names` (or an unusual name), else None."""
    for name in sorted(names):
        if _PG_DENIED.match(name) or not _PLAIN_NAME.match(name):
            return name
    return None
