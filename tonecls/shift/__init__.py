"""Per-actor tone baselines and tone-shift detection (docs/shift.md).

Monitoring is the default use: ``ShiftDetector().monitor(scored)`` tests each actor's newest period
(or the statements from ``since``) against the history before it; ``fit(history)`` /
``detect(new)`` / ``update(new)`` and ``save_baseline`` / ``load_baseline`` do the same for a daily
job; ``scan(scored)`` is the offline analysis of a whole series.

>>> from tonecls.shift import ShiftDetector, japan_scenario
>>> report = ShiftDetector().monitor(japan_scenario())
>>> report.events[["kind", "direction"]].values.tolist()
[['period', 'escalation'], ['statement', 'escalation']]
"""

from ..exceptions import NotFittedError, ShiftError
from .data import (PROB_COLUMNS, SKIPPED_COLUMNS, angular, date_text, from_angular, parse_dates, period_label,
                   period_start, prepare, read_scored)
from .detect import ShiftDetector
from .report import SUMMARY_COLUMNS, ShiftReport
from .scan import EVENT_COLUMNS
from .simulate import (JAPAN_CARD_STATEMENT, LEVEL_CENTRES, MONITOR_CASES, NULL_MODELS, add_probabilities,
                       beta_sd_max, japan_scenario, monitor_study, null_model_study, simulate_scores,
                       simulation_study, statement_power_study)
from .stats import (binary_segmentation, cusum_statistics, cusum_test, holm, location_interval, pelt_segmentation,
                    period_test, predictive_z, random_effects_weights, semi_deviations, trailing_baseline)

__all__ = ["EVENT_COLUMNS", "JAPAN_CARD_STATEMENT", "LEVEL_CENTRES", "MONITOR_CASES", "NULL_MODELS", "NotFittedError",
           "PROB_COLUMNS", "SKIPPED_COLUMNS", "SUMMARY_COLUMNS", "ShiftDetector", "ShiftError", "ShiftReport",
           "add_probabilities", "angular", "beta_sd_max", "binary_segmentation", "cusum_statistics", "cusum_test",
           "date_text", "from_angular", "holm", "japan_scenario", "location_interval", "monitor_study",
           "null_model_study", "parse_dates", "pelt_segmentation", "period_label", "period_start", "period_test",
           "predictive_z", "prepare", "random_effects_weights", "read_scored", "semi_deviations", "simulate_scores",
           "simulation_study", "statement_power_study", "trailing_baseline"]
