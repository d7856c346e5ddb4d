"""listclean: a local-first email list cleaner. The CLI is a client of this API.

>>> import polars as pl, listclean
>>> frame = pl.DataFrame({"email": ["a@b.com"]})
>>> out = listclean.annotate(frame, settings=listclean.Settings(offline=True))
>>> out.get_column("lc_status").to_list()
['unknown']

See ``listclean.api`` and docs/api.md.
"""

__version__ = "0.1.0"

from listclean.api import Report, annotate, check, verify_file
from listclean.model import Reason, Result, Status
from listclean.settings import Settings

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
