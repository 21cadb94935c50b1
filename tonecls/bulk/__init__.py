"""Bulk scoring of statement archives: streaming, resumable, multi-process, or on Ray Data.

    tonecls score archive.parquet -o scored.parquet            # CSV, JSONL(.gz), Parquet, datasets folder
    tonecls score speeches.jsonl.gz -o scored.parquet --segment --workers 2

>>> from tonecls.bulk import score_archive
>>> summary = score_archive("archive.parquet", "scored.parquet")          # doctest: +SKIP
>>> summary.rows_scored, summary.errors                                   # doctest: +SKIP
(999998, 2)

**Output.** Every input column, then ``score`` (expected level / 4), ``level``, ``label``,
``p_cautious`` … ``p_confrontational`` (calibrated), ``windows`` (encoder windows read), and with
``interval=True`` the conformal ``interval_low``/``interval_high`` (models calibrated with
``--conformal-alpha``). With ``explain=k`` (``--explain``), ``top_phrases``: the row's ``k``
phrases that move its level most, as JSON (:mod:`tonecls.explanation`). With ``segment=True`` each document is first split into statements
(:func:`tonecls.labeling.segment.split_statements`): one output row per statement, ``text``
holds the statement, the document's other columns are repeated, and ``doc_row`` (the
document's input row) and ``position`` (the statement's index in the document) are added.
Model name, versions, weights sha256, backend and the run's fingerprint go into the Parquet
file's key-value metadata (key ``tonecls``) and, for every format, into ``<output>.meta.json``.
Rows are written in input order.

**Bad rows** (missing, null, empty or non-string text, NA markers in CSV, text without a readable
character, lone surrogates, bytes not valid in ``encoding``; unparsable JSON lines; CSV rows with
the wrong number of fields; see :mod:`tonecls.archive`) are skipped and listed in
``<output>.errors.jsonl`` with their ``row`` (0-based record number), ``line`` (text formats),
``kind`` and reason.

**Output safety.** The output path is checked before any scoring (:func:`check_output_path`);
``overwrite`` only replaces an earlier tonecls output, recognised by its metadata
(:func:`output_metadata`), never a file or folder tonecls did not write; and a run holds an
exclusive lock on ``<output>.lock`` (:class:`OutputLock`), so a second run onto the same output
is refused with the first one's pid and command. An input without records gives an output with
its columns and the result columns and 0 rows. With ``segment=True`` a
document in which the segmenter finds no statement is listed there too (kind ``no_statements``).

**Streaming and resume.** The input is read in chunks of ``chunk_size`` records; each chunk
is tokenised, sorted by length into batches, scored and written to
``<output>.parts/part-NNNNNN.parquet`` (written under a temporary name, fsync'ed, then
renamed, so a part is either complete or absent; its errors are written the same way just
before it). ``manifest.json`` records the run's fingerprint (sha256 of the input bytes, the
weights, calibrator, backend and every option that changes results) and the finished
chunks, but the parts themselves are the truth: after a crash or ``kill -9``, running the same
command again keeps every finished part, redoes the rest, and assembles the final file, which
is identical to an uninterrupted run's. Starting again with another input, model or options
is refused (``resume=False`` / ``--restart`` starts over). The parts folder is removed once
the output is in place (``keep_parts=True`` keeps it).

**Several processes.** ``workers=N`` scores chunks in N processes started with the *spawn*
method (a forked process that inherits an initialised CUDA or OpenMP runtime can hang or
fail; spawn starts clean interpreters), each loading the model once and using
``cores // N`` threads; the main process reads, writes and drives the progress bar.
Chunks are scored identically whichever worker takes them.

**Ray Data.** ``engine="ray"`` runs ``ray.data.read_*`` → ``map_batches`` with a callable
class (:class:`RayScorer`, the model loaded once per actor) → blocks in input order to the driver; see
:func:`score_archive_ray`. ``pip install 'tonecls[ray]'``.

**Dataset.map.** :func:`map_function` returns a function for ``datasets.Dataset.map(...,
batched=True)``.

Modules: :mod:`~tonecls.bulk.local` (the local engine), :mod:`~tonecls.bulk.pool` (spawn workers),
:mod:`~tonecls.bulk.parts` (fingerprint, resume parts, assembly), :mod:`~tonecls.bulk.output` (output safety),
:mod:`~tonecls.bulk.model` (loading and scoring), :mod:`~tonecls.bulk.columns` (result columns, segmenting),
:mod:`~tonecls.bulk.summary`, :mod:`~tonecls.bulk.ray_engine`, :mod:`~tonecls.bulk.datasets_map`,
:mod:`~tonecls.bulk.cli`.
"""

from .cli import run_cli
from .columns import INTERVAL_COLUMNS, PROB_COLUMNS, RESULT_COLUMNS, SEGMENT_COLUMNS, result_columns
from .datasets_map import map_function
from .local import score_archive
from .model import load_model, model_info, score_texts
from .output import META_IN_FOLDER, OutputLock, check_output_path, output_metadata
from .parts import FORMAT_VERSION, MANIFEST
from .ray_engine import RayScorer, score_archive_ray
from .summary import BulkSummary

__all__ = ["FORMAT_VERSION", "INTERVAL_COLUMNS", "MANIFEST", "META_IN_FOLDER", "PROB_COLUMNS", "RESULT_COLUMNS",
           "SEGMENT_COLUMNS", "BulkSummary", "OutputLock", "RayScorer", "check_output_path", "load_model",
           "map_function", "model_info", "output_metadata", "result_columns", "run_cli", "score_archive",
           "score_archive_ray", "score_texts"]
