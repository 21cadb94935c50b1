"""The labeling pipeline: raw statements → statements with weak tone levels → a `DatasetDict`.

Stages (one module each): :mod:`.read` (files → ``Dataset``), :mod:`.segment` (documents →
statements), :mod:`.lexicon` and :mod:`.cameo` (labeling functions), :mod:`.aggregate` (votes →
levels), :mod:`.analysis` (coverage, accuracy), :mod:`.splits` (by document and time),
:mod:`.card` (dataset card), :mod:`.pipeline` (all of it; what ``tonecls label`` runs).
"""

from .aggregate import LabelModel, MajorityVote, StrongestVote
from .cameo import default_lfs
from .lexicon import ABSTAIN, LabelingFunction, apply_lfs
from .pipeline import WeakLabeler, label_file
from .read import DataError, read_table
from .segment import segment, split_statements
from .splits import check_no_overlap, split_by_hash, split_by_time

__all__ = ["ABSTAIN", "DataError", "LabelModel", "LabelingFunction", "MajorityVote", "StrongestVote", "WeakLabeler",
           "apply_lfs", "check_no_overlap", "default_lfs", "label_file", "read_table", "segment", "split_by_hash",
           "split_by_time", "split_statements"]
