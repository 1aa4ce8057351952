"""Reading the flat training config that runs wrote before the nested sections.

Older ``training.json`` (``{"encoder_downsample", "step", "train": {...}}``) and ``state.json``
files hold the config as one flat dict of the old ``TrainConfig`` fields. ``TrainConfig.from_json``
converts them on load through :func:`nested_from_flat`: each old key goes to its section, keys of
retired experiments are dropped (with a warning when they had changed the training), and the
result trains as the old run did. docs/training-history.md lists the retired keys.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping
from typing import Any

from model.train import settings

log = logging.getLogger(__name__)

# retired key → its value that changed nothing (so dropping it keeps the run's behaviour)
RETIRED = {
    "l1_class_balance": 0.0,
    "lambda_frozen_stats": 0.0,
    "frozen_stats_area": None,  # only meaningful with lambda_frozen_stats
    "code_colour_fit": "solved",
    "lr_encoder": None,
    "fix_global_epochs": 0,  # fix_global_steps says the same in steps
}


def is_flat(data: Mapping[str, Any]) -> bool:
    """Whether a saved config is the old flat dict (its keys are fields, not sections)."""
    return "name" in data or "netG" in data


def nested_from_flat(flat: Mapping[str, Any]) -> dict[str, dict[str, Any]]:
    """{"ngf": 8, …} → {"arch": {"ngf": 8}, …} for the current TrainConfig."""
    from model.train.config import TrainConfig

    section_of = {path.split(".")[1]: path.split(".")[0] for path, _, _ in settings.iter_fields(TrainConfig)}
    nested: dict[str, dict[str, Any]] = {}
    values = dict(flat)
    if values.get("fix_global_steps") is None:
        values["fix_global_steps"] = 0
    for key, value in values.items():
        if key in RETIRED:
            harmless = RETIRED[key]
            if harmless is not None and value != harmless:
                log.warning(
                    "%s = %r: a retired setting (docs/training-history.md); the converted config "
                    "trains without it",
                    key,
                    value,
                )
            continue
        if key not in section_of:
            log.warning("dropping unknown key %r of an old training config", key)
            continue
        nested.setdefault(section_of[key], {})[key] = value
    return nested


def convert_training_json(data: Mapping[str, Any]) -> dict[str, Any]:
    """An old ``training.json`` ({"encoder_downsample", "step", "train": flat}) in the current format
    ({"step", "train": nested}); a current one is returned as it is."""
    from model.train.config import TrainConfig

    train = data.get("train", {})
    if not is_flat(train):
        return dict(data)
    return {"step": data.get("step"), "train": TrainConfig.from_json(train).to_json()}
