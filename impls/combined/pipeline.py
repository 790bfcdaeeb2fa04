"""CombinedPipeline: each stage from the technology that measured fastest for it."""

from __future__ import annotations

from impls.cython_impl.pipeline import CythonPipeline, typed
from impls.msgspec_impl import encode
from impls.msgspec_impl.decode import FastDecoder
from impls.msgspec_impl.pipeline import MsgspecStages
from impls.msgspec_impl.rows import RowWriter


class CombinedPipeline(MsgspecStages, CythonPipeline):
    """msgspec decode/encode (MsgspecStages) first in the MRO, then the Cython stages."""

    decoder = FastDecoder(needs_number_checks=typed.may_need_number_checks, too_deep=typed.too_deep)
    rows = RowWriter(encode.dumps_text, typed.format_ms, typed.format_seconds)
