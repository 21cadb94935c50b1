"""What a run did (:class:`BulkSummary`), for both engines."""

from __future__ import annotations

from dataclasses import dataclass, field


@dataclass
class BulkSummary:
    """What a run did. ``rows_read`` counts input records (documents with ``segment``);
    ``rows_scored`` output rows (statements with ``segment``); ``errors`` bad rows."""

    output: str
    errors_file: str
    rows_read: int = 0
    rows_scored: int = 0
    errors: int = 0
    documents_without_statements: int = 0
    chunks: int = 0
    chunks_resumed: int = 0
    seconds: float = 0.0
    backend: str = ""
    already_complete: bool = False
    error_kinds: dict = field(default_factory=dict)

    def __str__(self) -> str:
        rate = (self.rows_read / self.seconds) if self.seconds else 0.0
        lines = [f"rows read {self.rows_read:,} | scored {self.rows_scored:,} | errors {self.errors:,}"
                 + (f" ({', '.join(f'{k} {v:,}' for k, v in sorted(self.error_kinds.items()))})" if self.errors else "")
                 + f" | {self.seconds:.1f} s ({rate:,.0f} rows/s) | backend {self.backend}"]
        if self.error_kinds.get("bad_encoding"):
            lines.append(f"{self.error_kinds['bad_encoding']:,} row(s) hold bytes that are not valid in the input's "
                         "encoding: if the file is not UTF-8, run again with its encoding, e.g. --encoding latin-1")
        if self.rows_read == 0 and not self.already_complete:
            lines.append("the input holds no records: the output has its columns and 0 rows")
        if self.chunks_resumed:
            lines.append(f"resumed: {self.chunks_resumed} of {self.chunks} chunks were already done")
        if self.already_complete:
            lines.append("already complete: the output exists and was made from the same input, model and options")
        lines.append(f"output {self.output}; errors {self.errors_file}")
        return "\n".join(lines)
