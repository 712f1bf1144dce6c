"""Mask personal data and secrets in log records before any handler formats them.

What is masked, in this order (each rule sees the output of the previous one):

1. values registered at start-up with :func:`register_sensitive` (account ids, the
   broker login, resolved secrets) — verbatim, replaced by ``<label>``;
2. credentials inside URLs (``scheme://user:password@host``);
3. JSON Web Tokens (``eyJ….….…``) → ``<jwt>``;
4. ``Authorization:``, ``Proxy-Authorization:``, ``Cookie:`` and ``Set-Cookie:`` headers
   → the rest of the line becomes ``<redacted>``;
5. ``Bearer …`` / ``Basic …`` credentials → ``Bearer <redacted>``;
6. values of secret-looking keys — ``password``, ``passwd``, ``pwd``, ``secret``,
   ``token``, ``api_key``, ``auth``, ``cookie``, ``session``, ``credential``… with any
   prefix or suffix joined by ``_`` or ``-`` (``access_token``, ``MOONLIGHT_SECRET_X``)
   — in ``key=value``, ``key: value``, ``"key": "value"`` and ``'key': 'value'`` forms;
7. e-mail addresses → ``<email>``;
8. long opaque strings: 40+ hex digits → ``<hex>``; 32+ characters of the base64
   alphabet mixing upper case, lower case and digits → ``<token>``. A 32-digit UUID hex
   is *not* masked (order ids look like that); a token next to a secret-looking key is
   masked by rule 6 whatever its length.

Masking errs on the side of hiding: an innocent value after ``session=`` is masked too.

Beyond log records, the same process-wide redactor (:func:`redact`) masks every other
way text leaves the process: the CLI's error messages, tracebacks of uncaught
exceptions (:func:`install_redacting_excepthooks`, installed by the ``moonlight``
command for the main thread and every other thread) and the API's error bodies.

Where it is applied: :class:`PiiFilter` is attached to every handler MoonLight installs
and rewrites the record in place — the formatted message (``%``-args merged in), the
exception text (traceback included), the stack text and every ``extra`` field — so the
handler formats only masked data. :func:`install_record_masking` additionally masks the
message, exception and stack of every record as it is created, so handlers installed by
someone else (pytest's ``caplog``, a library's own handler) do not see secrets either;
``extra`` fields are attached after creation and are masked by the handler filter.
"""

from __future__ import annotations

import logging
import re
import sys
import threading
import traceback
from collections.abc import Callable, Mapping
from types import TracebackType
from typing import TYPE_CHECKING, Any, Final

if TYPE_CHECKING:  # a type only: `moonlight --help` must not import the config models
    from moonlight.core.config import MoonlightConfig

REDACTED: Final = "<redacted>"
MIN_ANYWHERE_LEN: Final = 4
"""Registered values shorter than this are masked only as whole words."""

_KEYWORDS = (
    r"passwords?|passwd|passphrase|pwd|secrets?|tokens?|api[_-]?keys?|apikey|access[_-]?keys?"
    r"|private[_-]?keys?|authorization|auth|cookies?|session(?:[_-]?id)?|credentials?"
    r"|signature"
)
# A secret-looking key: the keyword, possibly with prefix/suffix words joined by _ or -.
_KEY = rf"(?:[A-Za-z0-9]+[_.-])*(?:{_KEYWORDS})(?:[_-][A-Za-z0-9]+)*"
_KEY_RE: Final = re.compile(rf"^{_KEY}$", re.IGNORECASE)

_URL_CREDENTIALS: Final = re.compile(
    r"(?P<head>\b[a-z][a-z0-9+.-]*://[^:/@\s]+:)(?P<secret>[^@/\s]+)(?=@)", re.IGNORECASE
)
_JWT: Final = re.compile(r"\beyJ[A-Za-z0-9_-]{5,}\.[A-Za-z0-9_-]{5,}\.[A-Za-z0-9_-]*")
_HEADER: Final = re.compile(
    r"(?<![A-Za-z0-9_-])(?P<key>(?:proxy-)?authorization|set-cookie|cookie)[ \t]*:[ \t]*"
    r"(?P<value>[^\r\n]+)",
    re.IGNORECASE,
)
_SCHEME_CREDENTIALS: Final = re.compile(
    r"\b(?P<scheme>Bearer|Basic)\s+[A-Za-z0-9._~+/=-]{6,}", re.IGNORECASE
)
_QUOTED_PAIR: Final = re.compile(
    rf"(?P<head>(?P<q>[\"'])(?P<key>{_KEY})(?P=q)\s*[:=]\s*)"
    r"(?P<value>\"(?:[^\"\\]|\\.)*\"|'(?:[^'\\]|\\.)*'|[^\s,;}\])]+)",
    re.IGNORECASE,
)
_PLAIN_PAIR: Final = re.compile(
    rf"(?<![A-Za-z0-9_.<-])(?P<head>(?P<key>{_KEY})[ \t]*[=:][ \t]*)"
    r"(?P<value>\"(?:[^\"\\]|\\.)*\"|'(?:[^'\\]|\\.)*'|[^\s&;,'\"}\])]+)",
    re.IGNORECASE,
)
_EMAIL: Final = re.compile(
    r"(?<![A-Za-z0-9._%+-])[A-Za-z0-9._%+-]+@[A-Za-z0-9-]+(?:\.[A-Za-z0-9-]+)*\.[A-Za-z]{2,}"
)
_LONG_HEX: Final = re.compile(r"(?<![A-Za-z0-9])[0-9a-fA-F]{40,}(?![A-Za-z0-9])")
_BASE64ISH: Final = re.compile(
    r"(?<![A-Za-z0-9+/_-])[A-Za-z0-9+/_-]{32,}={0,2}(?![A-Za-z0-9+/_=-])"
)


def is_sensitive_key(key: str) -> bool:
    """True when a field or option named ``key`` holds a secret (``password``, ``api_key``…)."""
    return bool(_KEY_RE.match(key))


def _mask_quoted_pair(match: re.Match[str]) -> str:
    value = match["value"]
    quote = value[0] if value[:1] in ('"', "'") else ""
    return f"{match['head']}{quote}{REDACTED}{quote}"


def _mask_opaque(match: re.Match[str]) -> str:
    text = match[0]
    mixed = (
        any(c.isdigit() for c in text)
        and any(c.isupper() for c in text)
        and any(c.islower() for c in text)
    )
    return "<token>" if mixed else text


_Replacement = str | Callable[[re.Match[str]], str]

# (pattern, replacement, cheap precondition on the lower-cased text: one of these
# substrings must occur, or None to always run). The preconditions skip most regexes on
# ordinary log lines.
_RULES: Final[tuple[tuple[re.Pattern[str], _Replacement, tuple[str, ...] | None], ...]] = (
    (_URL_CREDENTIALS, rf"\g<head>{REDACTED}", ("://",)),
    (_JWT, "<jwt>", ("eyj",)),
    (_HEADER, rf"\g<key>: {REDACTED}", ("authorization", "cookie")),
    (_SCHEME_CREDENTIALS, rf"\g<scheme> {REDACTED}", ("bearer", "basic")),
    (_QUOTED_PAIR, _mask_quoted_pair, ('"', "'")),
    (_PLAIN_PAIR, rf"\g<head>{REDACTED}", ("=", ":")),
    (_EMAIL, "<email>", ("@",)),
    (_LONG_HEX, "<hex>", None),
    (_BASE64ISH, _mask_opaque, None),
)


class Redactor:
    """Masks secrets in text; knows the values registered at start-up.

    Thread-safe: registration may happen while other threads log.
    """

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._values: dict[str, tuple[str, bool]] = {}
        self._registered: re.Pattern[str] | None = None
        self._labels: dict[str, str] = {}

    def register(self, value: str, label: str = "secret", *, whole_word: bool = False) -> None:
        """Mask ``value`` verbatim as ``<label>`` from now on.

        ``whole_word`` (forced for values shorter than :data:`MIN_ANYWHERE_LEN`) masks
        it only where it is not part of a longer word, so a short account id such as
        ``a1`` does not blank every ``a1`` inside other words.
        """
        if not value:
            raise ValueError("cannot register an empty sensitive value")
        if not re.fullmatch(r"[A-Za-z0-9_]+", label):
            raise ValueError(f"label {label!r} must be letters, digits or _")
        with self._lock:
            self._values[value] = (label, whole_word or len(value) < MIN_ANYWHERE_LEN)
            self._rebuild()

    def unregister(self, value: str) -> None:
        """Stop masking ``value`` (no error if it was not registered)."""
        with self._lock:
            if self._values.pop(value, None) is not None:
                self._rebuild()

    def clear(self) -> None:
        """Forget every registered value (tests, engine shutdown)."""
        with self._lock:
            self._values.clear()
            self._rebuild()

    def registered_count(self) -> int:
        """How many values are registered."""
        return len(self._values)

    def _rebuild(self) -> None:
        # Longest first, so a value containing another is masked whole.
        parts: list[str] = []
        self._labels = {}
        for value in sorted(self._values, key=len, reverse=True):
            label, whole_word = self._values[value]
            self._labels[value] = label
            escaped = re.escape(value)
            parts.append(rf"(?<![A-Za-z0-9]){escaped}(?![A-Za-z0-9])" if whole_word else escaped)
        self._registered = re.compile("|".join(parts)) if parts else None

    def redact(self, text: str) -> str:
        """``text`` with every registered value and secret-looking pattern masked."""
        registered, labels = self._registered, self._labels
        if registered is not None:
            text = registered.sub(lambda m: f"<{labels.get(m[0], 'secret')}>", text)
        lowered = text.lower()
        for pattern, replacement, needs in _RULES:
            if needs is None or any(needle in lowered for needle in needs):
                text = pattern.sub(replacement, text)
        return text

    def redact_value(self, value: Any, *, _depth: int = 0) -> Any:
        """Mask a structured value (an ``extra`` field): strings, mappings, sequences.

        Numbers, booleans and None are kept; a mapping entry under a secret-looking key
        is replaced whole; any other object is turned into its masked ``str``.
        """
        if value is None or isinstance(value, bool | int | float):
            return value
        if isinstance(value, str):
            return self.redact(value)
        if _depth < 8 and isinstance(value, Mapping):
            return {
                str(k): REDACTED
                if is_sensitive_key(str(k))
                else self.redact_value(v, _depth=_depth + 1)
                for k, v in value.items()
            }
        if _depth < 8 and isinstance(value, list | tuple | set | frozenset):
            return [self.redact_value(v, _depth=_depth + 1) for v in value]
        return self.redact(str(value))


_DEFAULT = Redactor()


def default_redactor() -> Redactor:
    """The process-wide redactor used by MoonLight's log handlers."""
    return _DEFAULT


def redact(text: str) -> str:
    """``text`` masked by the process-wide redactor (what every log line goes through)."""
    return _DEFAULT.redact(text)


def install_redacting_excepthooks() -> None:
    """Print uncaught exceptions (any thread) masked, instead of Python's raw traceback.

    An exception that escapes quotes whatever its message held — a broker error often
    quotes the credential it refused — and Python would print it to stderr verbatim.
    """

    def excepthook(
        kind: type[BaseException], error: BaseException, trace: TracebackType | None
    ) -> None:
        text = "".join(traceback.format_exception(kind, error, trace))
        sys.stderr.write(redact(text))

    def thread_excepthook(args: threading.ExceptHookArgs) -> None:
        if args.exc_type is SystemExit:
            return
        name = args.thread.name if args.thread is not None else "?"
        text = "".join(
            traceback.format_exception(args.exc_type, args.exc_value, args.exc_traceback)
        )
        sys.stderr.write(redact(f"Exception in thread {name}:\n{text}"))

    sys.excepthook = excepthook
    threading.excepthook = thread_excepthook


def register_sensitive(value: str, label: str = "secret", *, whole_word: bool = False) -> None:
    """Register a value (account id, login, secret) to mask in every log line."""
    _DEFAULT.register(value, label, whole_word=whole_word)


def clear_sensitive() -> None:
    """Forget every registered value of the process-wide redactor."""
    _DEFAULT.clear()


_IDENTITY_OPTION = re.compile(r"^(?:[a-z0-9]+_)*(?:login|user|username|email|account|account_id)$")


def register_from_config(
    config: MoonlightConfig,
    get_secret: Callable[[str], str | None] | None = None,
    redactor: Redactor | None = None,
) -> int:
    """Register what a configuration makes sensitive; returns how many values.

    Account ids (as ``<account>``, whole words); connector options naming an identity
    (``login``, ``email``, ``username``…) as ``<account>``; and the *value* of every
    secret referenced by a ``*_secret_name`` option, resolved through ``get_secret``
    (default: :func:`moonlight.core.secrets.get_secret`), as ``<secret>``.
    """
    if get_secret is None:
        from moonlight.core.secrets import get_secret as keyring_get_secret

        get_secret = keyring_get_secret
    target = redactor or _DEFAULT
    count = 0
    for account in config.accounts:
        target.register(account.id, "account", whole_word=True)
        count += 1
        for key, option in account.connector_options.items():
            if not isinstance(option, str) or not option:
                continue
            if key.endswith("_secret_name"):
                secret = get_secret(option)
                if secret:
                    target.register(secret, "secret")
                    count += 1
            elif _IDENTITY_OPTION.match(key.lower()):
                target.register(option, "account", whole_word=True)
                count += 1
    return count


# ------------------------------------------------------------------ log records

_STANDARD_ATTRS: Final = frozenset(
    vars(logging.LogRecord("x", logging.INFO, "x", 0, "x", None, None, None, None))
) | {"message", "asctime", "taskName"}


def extra_fields(record: logging.LogRecord) -> dict[str, Any]:
    """The ``extra=`` fields of a record (non-standard, non-underscore attributes)."""
    return {
        key: value
        for key, value in vars(record).items()
        if key not in _STANDARD_ATTRS and not key.startswith("_")
    }


_MASKED: Final = "_moonlight_masked_msg"


def _mask_core(record: logging.LogRecord, redactor: Redactor) -> None:
    """Mask message (args merged), exception text and stack text of ``record``."""
    try:
        message = record.getMessage()
    except Exception:  # wrong args for the format: keep both, masked
        message = f"{record.msg!s} (unformattable args: {record.args!r})"
    record.msg = redactor.redact(message)
    record.args = ()
    if record.exc_info and record.exc_info[0] is not None and not record.exc_text:
        record.exc_text = logging.Formatter().formatException(record.exc_info)
    if record.exc_text:
        record.exc_text = redactor.redact(record.exc_text)
    if record.stack_info:
        record.stack_info = redactor.redact(record.stack_info)
    setattr(record, _MASKED, record.msg)


def _already_masked(record: logging.LogRecord) -> bool:
    """True when the record factory masked it and nothing was put back since.

    ``logging.makeLogRecord`` (records from other processes) runs the factory on an
    empty record and then overwrites ``msg``/``args``: such a record is masked again.
    """
    return (
        getattr(record, _MASKED, None) is record.msg
        and not record.args
        and not (record.exc_info and not record.exc_text)
    )


def mask_record(record: logging.LogRecord, redactor: Redactor | None = None) -> None:
    """Mask everything a formatter could print from ``record``, in place."""
    target = redactor or _DEFAULT
    if not _already_masked(record):
        _mask_core(record, target)
    for key, value in extra_fields(record).items():
        masked = REDACTED if is_sensitive_key(key) else target.redact_value(value)
        setattr(record, key, masked)


class PiiFilter(logging.Filter):
    """Handler filter that masks a record in place; never drops a record."""

    def __init__(self, redactor: Redactor | None = None) -> None:
        super().__init__()
        self.redactor = redactor or _DEFAULT

    def filter(self, record: logging.LogRecord) -> bool:
        """Mask ``record`` (message, args, exception, stack, extras); keep it."""
        mask_record(record, self.redactor)
        return True


class _MaskingRecordFactory:
    """Wraps the previous record factory; masks each record as it is created."""

    def __init__(self, previous: Callable[..., logging.LogRecord], redactor: Redactor) -> None:
        self.previous = previous
        self.redactor = redactor

    def __call__(self, *args: Any, **kwargs: Any) -> logging.LogRecord:
        record = self.previous(*args, **kwargs)
        _mask_core(record, self.redactor)
        return record


def install_record_masking(redactor: Redactor | None = None) -> bool:
    """Mask every new log record at creation; False if already installed."""
    current = logging.getLogRecordFactory()
    if isinstance(current, _MaskingRecordFactory):
        return False
    logging.setLogRecordFactory(_MaskingRecordFactory(current, redactor or _DEFAULT))
    return True


def uninstall_record_masking() -> bool:
    """Restore the factory in force before :func:`install_record_masking`.

    Only when ours is the current one (someone may have wrapped it since); returns
    whether it was removed.
    """
    current = logging.getLogRecordFactory()
    if isinstance(current, _MaskingRecordFactory):
        logging.setLogRecordFactory(current.previous)
        return True
    return False
