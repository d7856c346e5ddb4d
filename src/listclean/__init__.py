"""listclean: a local-first email list cleaner. The CLI is a client of this API.

>>> import polars as pl, listclean
>>> frame = pl.DataFrame({"email": ["a@b.com"]})
>>> out = listclean.annotate(frame, settings=listclean.Settings(offline=True))
>>> out.get_column("lc_status").to_list()
['unknown']

See ``listclean.api`` and docs/api.md.
"""

__version__ = "0.1.0"

from typing import TYPE_CHECKING, Any

from listclean.model import Reason, Result, Status
from listclean.settings import Settings

if TYPE_CHECKING:
    from listclean.api import Report, annotate, check, verify_file

_API = ("Report", "annotate", "check", "verify_file")


def __getattr__(name: str) -> Any:
    """The API functions load Polars (~0.3 s): imported on first use (PEP 562), so that
    `listclean --help` and the other commands that do not need it start faster (#19 item 5)."""
    if name in _API:
        from listclean import api

        return getattr(api, name)
    raise AttributeError(f"module 'listclean' has no attribute {name!r}")


__all__ = [
    "Reason",
    "Report",
    "Result",
    "Settings",
    "Status",
    "__version__",
    "annotate",
    "check",
    "verify_file",
]
