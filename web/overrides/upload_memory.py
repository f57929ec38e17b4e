"""An upload's file kept in memory while Litestar parses the form: the default of UploadFile's
`max_spool_size` raised to the largest upload the app accepts.

Why: Litestar's UploadFile spills past 1 MiB (its default `max_spool_size`) to a temporary file,
written chunk by chunk from a worker thread, which took 16 ms of a 5 MB upload's 18 ms of
parsing here (bench/upload.py). The pipeline reads the whole file into memory anyway, and the
body limit (web/plumbing/body_limit.py) bounds it.

What it relies on upstream (litestar 2.25, uv.lock), canaried in tests/unit/test_overrides.py:
- `UploadFile.__init__` takes `max_spool_size` as a defaulted positional-or-keyword parameter
  and hands it to `SpooledTemporaryFile(max_size=...)`;
- Litestar's multipart parser (`litestar._multipart.parse_multipart_form`) makes each
  UploadFile without passing `max_spool_size`, so the default is what applies.
No setting of Litestar 2.25 (nor of its v2 branch up to 2.24's changelog, nor of main, 3.0.0b0)
sets the parser's spool size: `max_spool_size` reaches only an UploadFile made by hand. Starlette
made its own spool size configurable per form (Kludex/starlette#3190); Litestar has no
counterpart to switch to yet.
"""

from __future__ import annotations

import inspect

from litestar.datastructures import UploadFile

from web.plumbing.body_limit import MULTIPART_ROOM

SPOOL_PARAMETER = "max_spool_size"


def keep_uploads_in_memory(max_upload_bytes: int) -> None:
    """Raises UploadFile's spool size (the default of its public `max_spool_size` argument,
    which Litestar's form parser leaves unset) so that an upload under the limit stays in
    memory. Process-wide: the largest limit of any app made in this process wins."""
    init = UploadFile.__init__
    names = list(inspect.signature(init).parameters)
    defaults = list(init.__defaults__ or ())
    index = names.index(SPOOL_PARAMETER) - (len(names) - len(defaults))
    defaults[index] = max(defaults[index], max_upload_bytes + MULTIPART_ROOM)
    init.__defaults__ = tuple(defaults)
