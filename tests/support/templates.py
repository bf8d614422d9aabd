"""Templates compiled once per test process, not once per test.

Every test makes an app of its own, and each app's Jinja environment compiles the
templates it renders (the layout and the macros included) anew: much of the time
of a test that shows a page. Jinja's bytecode cache, shared by every app of the
process, keeps the compiled code of each template. A template is compiled anew
when its source changes (Jinja checks its checksum) and the code is kept apart
for each set of options that change what Jinja compiles (the e-mails' plain-text
environment has no autoescaping and trims blocks). Nothing else differs from
production.
"""

from __future__ import annotations

import threading
from typing import Any

from flask import Flask
from jinja2 import BytecodeCache, Environment
from jinja2.bccache import Bucket


def _compile_options(environment: Environment, name: str) -> tuple[Any, ...]:
    """What, besides the source, decides the code Jinja compiles for template ``name``."""
    autoescape = environment.autoescape
    return (
        autoescape(name) if callable(autoescape) else autoescape,
        environment.block_start_string,
        environment.block_end_string,
        environment.variable_start_string,
        environment.variable_end_string,
        environment.comment_start_string,
        environment.comment_end_string,
        environment.line_statement_prefix,
        environment.line_comment_prefix,
        environment.trim_blocks,
        environment.lstrip_blocks,
        environment.newline_sequence,
        environment.keep_trailing_newline,
        environment.optimized,
        environment.is_async,
        environment.finalize is not None,
        getattr(environment.finalize, "jinja_pass_arg", None),
        tuple(sorted(environment.extensions)),
        getattr(environment, "newstyle_gettext", None),
        environment.code_generator_class,
        environment.context_class,
    )


class SharedBytecodeCache(BytecodeCache):
    """Jinja's bytecode cache in this process's memory, for every app of the process."""

    def __init__(self) -> None:
        self._compiled: dict[str, bytes] = {}
        self._lock = threading.Lock()

    def get_bucket(
        self, environment: Environment, name: str, filename: str | None, source: str
    ) -> Bucket:
        key = self.get_cache_key(repr((name, filename, _compile_options(environment, name))))
        bucket = Bucket(environment, key, self.get_source_checksum(source))
        self.load_bytecode(bucket)
        return bucket

    def load_bytecode(self, bucket: Bucket) -> None:
        with self._lock:
            compiled = self._compiled.get(bucket.key)
        if compiled is not None:
            bucket.bytecode_from_string(compiled)

    def dump_bytecode(self, bucket: Bucket) -> None:
        compiled = bucket.bytecode_to_string()
        with self._lock:
            self._compiled[bucket.key] = compiled

    def clear(self) -> None:
        with self._lock:
            self._compiled.clear()


def share_compiled_templates() -> None:
    """Every Flask app made in this process from now on shares one bytecode cache."""
    if "bytecode_cache" not in Flask.jinja_options:
        Flask.jinja_options = {**Flask.jinja_options, "bytecode_cache": SharedBytecodeCache()}
