"""Evaluation at the resolution a user sees: a full-resolution judge segmenter, a domain FID in its
feature space, periodic artefacts against the photos' spectrum, edge agreement with the photo
(with blur and flat-colour references), a crop sheet at 100%, and the appearance-control check.
``protocol.evaluate`` runs them all in one pass; docs/evaluation.md describes each figure."""

from model.evaluate.judge import JUDGE_FOLDER, JudgeConfig
from model.evaluate.protocol import EvaluateConfig, evaluate
from model.evaluate.report import Report

__all__ = ["JUDGE_FOLDER", "EvaluateConfig", "JudgeConfig", "Report", "evaluate"]
