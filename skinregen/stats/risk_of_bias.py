"""Risk of bias per study, as judged in ``data/risk_of_bias.csv`` (RoB 2, ROBINS-I, or 'no control group').

Judgements are read as written; this module only orders and summarises them. The overall judgement of a study
feeds the certainty rating's risk-of-bias step (:mod:`skinregen.stats.certainty`).
"""

from __future__ import annotations

import pandas as pd

DOMAINS = {
    "rob2": ["randomization", "deviations", "missing_data", "measurement", "selection_reported", "overall"],
    "robins_i": ["confounding", "selection_participants", "classification_interventions", "deviations",
                 "missing_data", "measurement", "selection_reported", "overall"],
    "uncontrolled": ["no_control_group"],
}
DOMAIN_LABELS = {
    "randomization": "Randomization process", "deviations": "Deviations from intended interventions",
    "missing_data": "Missing outcome data", "measurement": "Measurement of the outcome",
    "selection_reported": "Selection of the reported result", "overall": "Overall",
    "confounding": "Confounding", "selection_participants": "Selection of participants",
    "classification_interventions": "Classification of interventions", "no_control_group": "No control group",
}
DOMAIN_SHORT = {"randomization": "D1", "deviations": "D2", "missing_data": "D3", "measurement": "D4",
                "selection_reported": "D5", "overall": "Overall", "confounding": "D1",
                "selection_participants": "D2", "classification_interventions": "D3"}
ROBINS_SHORT = {"deviations": "D4", "missing_data": "D5", "measurement": "D6", "selection_reported": "D7"}
JUDGEMENT_LABELS = {"low": "Low", "some_concerns": "Some concerns", "high": "High", "moderate": "Moderate",
                    "serious": "Serious", "critical": "Critical", "no_information": "No information"}
TOOL_NAMES = {"rob2": "RoB 2", "robins_i": "ROBINS-I", "uncontrolled": "no control group"}
# Serious enough to lower certainty: RoB 2 'high', ROBINS-I 'serious' or 'critical', or no control group.
SERIOUS = {"high", "serious", "critical"}


def short_domain(tool: str, domain: str) -> str:
    if tool == "robins_i" and domain in ROBINS_SHORT:
        return ROBINS_SHORT[domain]
    return DOMAIN_SHORT.get(domain, DOMAIN_LABELS.get(domain, domain))


def overall_judgements(table: pd.DataFrame) -> dict[str, tuple[str, str]]:
    """study_key -> (tool, overall judgement); uncontrolled studies count as 'critical'."""
    result = {}
    for row in table.to_dict("records"):
        if row["domain"] in ("overall", "no_control_group"):
            result[row["study_key"]] = (row["tool"], row["judgement"])
    return result
