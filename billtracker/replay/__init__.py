"""Local replay of the ly.govapi.tw v2 API built from the recorded samples (no network)."""

from .derive import ReplayData, SamplesNotFound, default_samples_dir, load_replay
from .server import ReplayServer

__all__ = ["ReplayData", "ReplayServer", "SamplesNotFound", "default_samples_dir", "load_replay"]
